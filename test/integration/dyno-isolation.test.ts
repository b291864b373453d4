/**
 * Dynos as runc containers (real runc, the run stack, the slipway0 bridge): what a dyno can and cannot do.
 * Traffic goes only to loopback, the bridge gateway (this host) and the dynos these tests start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../server/config.js';
import { dynoSize, type DynoHandle, type DynoSpec } from '../../runner/index.js';
import { mintContainerName } from '../../platform/container-name.js';
import { parseSubnet } from '../../runner/sandbox/network.js';
import { runcTestRunner } from '../helpers/runners.js';
import { PY_WEB_SERVER } from '../helpers/runners.js';
import { outsideStandIn } from '../helpers/outside.js';

const APP_A = '00000000-0000-4000-8000-00000000000a';
const APP_B = '00000000-0000-4000-8000-00000000000b';
const SERVER = PY_WEB_SERVER;
/** Prints "open" or "closed" for host:port, from inside a dyno. */
const PROBE = `import socket, sys
s = socket.socket(); s.settimeout(1.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open", sys.argv[1], sys.argv[2])
except Exception as e:
    print("closed", sys.argv[1], sys.argv[2])
`;

let t: Awaited<ReturnType<typeof runcTestRunner>>;
let digest: string;
let n = 0;
const gateway = parseSubnet(loadConfig().subnet).gateway;
before(async () => {
  t = await runcTestRunner();
  digest = await t.slug({ 'server.py': SERVER, 'probe.py': PROBE });
});
after(async () => t?.close());

function spec(command: string, over: Partial<DynoSpec> = {}): DynoSpec {
  const name = over.name ?? `web.${++n}`;
  const app = over.app ?? 'iso-a';
  return {
    id: mintContainerName({ app, release: { version: 1 }, process: name.split('.')[0], index: Number(name.split('.')[1]) }, 'agent'), app, appId: APP_A, name, type: 'web',
    release: { id: '00000000-0000-4000-8000-000000000002', version: 1, slugDigest: digest }, command, config: {}, size: dynoSize(undefined)!, ...over,
  };
}

async function run(command: string, over: Partial<DynoSpec> = {}) {
  const lines: string[] = [];
  const h = await t.runner.start(spec(command, over), { onLine: (l) => lines.push(l) });
  const exit = await h.exited;
  return { ...exit, out: lines.join('\n') };
}

async function web(over: Partial<DynoSpec> = {}): Promise<DynoHandle> {
  const h = await t.runner.start(spec('python3 server.py', over), { onLine: () => undefined });
  for (let i = 0; i < 100; i++) {
    const r = await run(`python3 probe.py ${h.host} 5000`, { appId: over.appId ?? APP_A, app: over.app ?? 'iso-a' });
    if (r.out.startsWith('open')) return h;
    await sleep(100);
  }
  throw new Error('web dyno did not come up');
}

test('when a dyno runs, then it is web.N, not root, has no capabilities and a read-only root but a writable /app and /tmp', async () => {
  const r = await run('hostname; id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status | tr -s "\\t " " "; touch /x 2>/dev/null && echo root-writable || echo root-readonly; touch /app/x && echo app-writable; touch /tmp/x && echo tmp-writable; cat /proc/kcore >/dev/null 2>&1 && echo kcore || echo no-kcore; ls /proc | grep -cE "^[0-9]+$"', { name: 'web.1' });
  const [host, uid, capEff, nnp, root, app, tmp, kcore, procs] = r.out.split('\n');
  assert.equal(r.code, 0, r.out);
  assert.equal(host, 'web.1');
  assert.notEqual(uid, '0');
  assert.equal(capEff, 'CapEff: 0000000000000000');
  assert.equal(nnp, 'NoNewPrivs: 1');
  assert.equal(root, 'root-readonly');
  assert.equal(app, 'app-writable');
  assert.equal(tmp, 'tmp-writable');
  assert.equal(kcore, 'no-kcore');
  assert.ok(Number(procs) <= 4, `a dyno sees only its own processes, saw ${procs}`);
});

test("when a dyno tries the host's services, then PostgreSQL, Redis, the API and any host port are closed to it", async () => {
  // A listener on every host address: reachable from the host itself, never from a dyno.
  const server: Server = createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const targets = [[gateway, 5432], [gateway, 6379], [gateway, 5050], [gateway, port], ['127.0.0.1', 5432], ['127.0.0.1', 6379]];
    const r = await run(targets.map(([h, p]) => `python3 probe.py ${h} ${p}`).join('; '));
    assert.deepEqual(r.out.split('\n'), targets.map(([h, p]) => `closed ${h} ${p}`));
  } finally {
    server.close();
  }
});

test("when dynos of one app talk, then they reach each other; another app's dyno cannot reach them", async () => {
  const a1 = await web({ appId: APP_A, app: 'iso-a' });
  try {
    const same = await run(`python3 probe.py ${a1.host} 5000`, { appId: APP_A, app: 'iso-a' });
    assert.equal(same.out, `open ${a1.host} 5000`);
    const other = await run(`python3 probe.py ${a1.host} 5000`, { appId: APP_B, app: 'iso-b' });
    assert.equal(other.out, `closed ${a1.host} 5000`);
  } finally {
    await t.runner.signal(a1.id, 'KILL');
    await a1.exited;
  }
});

test('when a dyno exceeds its memory, then only it is killed and the kill is reported as OOM', async () => {
  const small = { ...dynoSize(undefined)!, memoryBytes: 64 << 20 };
  const bystander = await web({ appId: APP_B, app: 'iso-b' });
  try {
    const r = await run(`python3 -c "b = bytearray(300 * 1024 * 1024); print('survived')"`, { size: small });
    assert.equal(r.oomKilled, true, r.out);
    assert.equal(r.code, 137);
    assert.ok(!r.out.split('\n').includes('survived'), r.out);
    const probe = await run(`python3 probe.py ${bystander.host} 5000`, { appId: APP_B, app: 'iso-b' });
    assert.equal(probe.out, `open ${bystander.host} 5000`, 'another dyno keeps running');
  } finally {
    await t.runner.signal(bystander.id, 'KILL');
    await bystander.exited;
  }
});

test("when a dyno fork-bombs, then the pids limit holds it and another app's dyno keeps answering", async () => {
  const tiny = { ...dynoSize(undefined)!, pidsLimit: 40 };
  const bystander = await web({ appId: APP_B, app: 'iso-b' });
  const bomb = await t.runner.start(spec(`for i in $(seq 1 200); do sleep 30 & done; echo started; wait`, { size: tiny }), { onLine: () => undefined });
  try {
    await sleep(1500);
    const s = await t.runner.stats(bomb.id);
    assert.ok(s, 'stats of a running dyno');
    assert.ok(s.pids <= 40, `pids ${s.pids} must stay at the limit`);
    assert.equal(s.memoryLimitBytes, dynoSize(undefined)!.memoryBytes);
    const probe = await run(`python3 probe.py ${bystander.host} 5000`, { appId: APP_B, app: 'iso-b' });
    assert.equal(probe.out, `open ${bystander.host} 5000`);
  } finally {
    for (const h of [bomb, bystander]) {
      await t.runner.signal(h.id, 'KILL');
      await h.exited;
    }
  }
});

test('when a dyno tries a link-local address (where clouds serve instance metadata), then it is unreachable, though the host reaches it', async () => {
  const md = await outsideStandIn('169.254.169.254', 'md');
  try {
    const r = await run('python3 probe.py 169.254.169.254 8775');
    assert.equal(r.out, 'closed 169.254.169.254 8775');
  } finally {
    await md.close();
  }
});

test("when an operator sets an app's egress policy, then its dynos reach outside only what it allows", async () => {
  const out = await outsideStandIn('198.18.0.1', 'eg');
  const probe = (egress: DynoSpec['egress']) => run('python3 probe.py 198.18.0.1 8775; python3 probe.py 198.18.0.1 8776', { egress });
  try {
    assert.equal((await probe(undefined)).out, 'open 198.18.0.1 8775\nopen 198.18.0.1 8776', 'allow is the default');
    assert.equal((await probe({ policy: 'deny' })).out, 'closed 198.18.0.1 8775\nclosed 198.18.0.1 8776');
    assert.equal((await probe({ policy: 'allowlist', rules: [{ cidr: '198.18.0.0/24', ports: [8775] }] })).out, 'open 198.18.0.1 8775\nclosed 198.18.0.1 8776');
    assert.equal((await probe({ policy: 'allowlist', rules: [{ cidr: '198.18.0.1/32' }] })).out, 'open 198.18.0.1 8775\nopen 198.18.0.1 8776');
    // The router still reaches a web dyno of a deny-all app: replies to connections made to it are not egress.
    const h = await web({ egress: { policy: 'deny' } });
    await t.runner.signal(h.id, 'KILL');
    await h.exited;
  } finally {
    await out.close();
  }
});

test('when two apps run, then each runs as its own uid (named dyno inside), owns its /app, and cannot signal the other', async () => {
  const r1 = await run('id -u; whoami; stat -c %u /app/server.py; echo x >> /app/server.py && echo app-writable', { uid: 100001 });
  assert.equal(r1.code, 0, r1.out);
  assert.deepEqual(r1.out.split('\n'), ['100001', 'dyno', '100001', 'app-writable']);
  const other = await web({ uid: 100002, app: 'iso-b', appId: APP_B });
  const r2 = await run('id -u; ps -eo uid= | sort -u | tr -d " "', { uid: 100003 });
  assert.deepEqual(r2.out.split('\n'), ['100003', '100003'], 'another app\'s processes are not even visible');
  await t.runner.signal(other.id, 'KILL');
  await other.exited;
});

test('when dynos are gone, then nothing of them is left: no container, netns, address or dir', async () => {
  const r = await run('true');
  assert.equal(r.code, 0);
  assert.deepEqual(await t.runner.list(), []);
  assert.equal(t.addresses.held.size, 0);
});

test('when the bridge is ensured again, then no rule is added twice', async () => {
  const { ensureBridge } = await import('../../runner/sandbox/network.js');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const rules = async () => (await promisify(execFile)('iptables-save', [])).stdout.split('\n').filter((l) => l.includes('SLIPWAY')).sort();
  const c = loadConfig();
  await ensureBridge({ bridge: c.bridge, subnet: c.subnet, nat: c.nat });
  const before = await rules();
  await ensureBridge({ bridge: c.bridge, subnet: c.subnet, nat: c.nat });
  assert.deepEqual(await rules(), before);
  assert.equal(new Set(before).size, before.length, `duplicate rules:\n${before.join('\n')}`);
});
