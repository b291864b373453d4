/**
 * A hostile tenant, pushed as any user would (test/fixtures/apps/escape-artist): from inside its dyno it tries each
 * way out the sandbox closes — kernel surfaces through seccomp (user namespaces, keys, bpf, perf, mount, kexec,
 * modules, the clock, io_uring), the host's disk through /app and /tmp, writes outside them, other processes through
 * /proc and signals, the host's services (a listener on every host address, PostgreSQL, Redis, the API), a
 * neighbour's dyno, a cloud's metadata address (a stand-in in a network namespace this test makes), IPv6 — and
 * reports what it could do. Every attempt is refused, the agent logs the disk quota it hit, the tenant's dyno keeps
 * running, and a neighbour app answers every request throughout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { outsideStandIn } from '../helpers/outside.js';
import { tailLog } from '../../server/logs/app-log.js';

let t: TestPlatform;
let listener: Server;
const neighbour = { statuses: [] as number[], running: true, loop: undefined as Promise<void> | undefined };

async function pushApp(app: string, fixture: string, config?: Record<string, string>) {
  assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
  if (config) assert.equal((await t.api('PATCH', `/apps/${app}/config-vars`, config)).status, 200);
  const push = await t.git(await t.checkout(fixture, app), ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  await waitFor(`${app} serving`, async () => (await t.get(app).catch(() => ({ status: 0 }))).status === 200, 60_000, 200);
}

before(async () => {
  t = await startTestPlatform({}, { dynos: true });
  listener = createServer((s) => s.on('error', () => undefined).end('host service\n'));
  await new Promise<void>((r) => listener.listen(0, '0.0.0.0', () => r()));
  await pushApp('neighbour', 'procfile-shell');
  neighbour.loop = (async () => {
    while (neighbour.running) {
      neighbour.statuses.push((await t.get('neighbour').catch(() => ({ status: 0 }))).status);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  // Its attempts (a disk filled past its quota among them) take longer than the router's 30 s on a busy machine.
  await pushApp('escape', 'escape-artist', { SLIPWAY_ROUTER_TIMEOUT: '120' });
});
after(async () => {
  neighbour.running = false;
  await neighbour.loop;
  listener?.close();
  await t?.close();
});

test('when a tenant tries every way out of its dyno, then each is refused, its disk quota is logged, and the neighbour answers throughout', async () => {
  const md = await outsideStandIn('169.254.169.254', 'es');
  try {
    const gateway = t.platform.config.subnet.replace(/\.\d+\/\d+$/, '.1');
    const apiPort = new URL(t.url).port;
    const dyno = (await t.platform.db.query<{ address: string; port: number }>(
      `SELECT d.address, d.port FROM dynos d JOIN apps a ON a.id = d.app_id WHERE a.name = 'neighbour' AND d.state = 'up' LIMIT 1`)).rows[0];
    assert.ok(dyno?.address, 'the neighbour has a dyno to try');
    const targets = [`${gateway}:${(listener.address() as { port: number }).port}`, `${gateway}:5432`, `${gateway}:6379`, `${gateway}:${apiPort}`,
      `${dyno.address}:${dyno.port}`, '169.254.169.254:8775'];
    const query = new URLSearchParams([['fill_mb', '1100'], ['keep', '1'], ['kill', String(process.pid)], ...targets.map((c) => ['connect', c])]);
    const r = await t.get('escape', `/attempts?${query}`);
    assert.equal(r.status, 200, r.body);
    const got = JSON.parse(r.body);

    const uids = Object.fromEntries((await t.platform.db.query<{ name: string; uid: number }>(
      `SELECT name, uid FROM apps WHERE name IN ('escape', 'neighbour')`)).rows.map((x) => [x.name, x.uid]));
    assert.equal(got.uid, uids.escape, 'the tenant runs as its app\'s own uid');
    assert.notEqual(uids.escape, uids.neighbour);
    assert.equal(got.seccomp, '2');
    for (const [name, result] of Object.entries(got.syscalls)) assert.equal(result, 'EPERM', `${name}: ${result}`);
    assert.equal(got['unshare -Ur'], 'refused');
    assert.deepEqual(got.visible_uids, [uids.escape], 'no process of anyone else is visible');
    assert.deepEqual(got.kill_outside, { [String(process.pid)]: 'ESRCH' });
    assert.equal(got.ipv6_addresses, 0);
    for (const [path, result] of Object.entries(got.write)) assert.match(String(result), /^(EROFS|EACCES|EPERM)$/, `${path}: ${result}`);
    assert.equal(got.fill['/app'].stopped, 'ENOSPC');
    assert.ok(got.fill['/app'].mb >= 900 && got.fill['/app'].mb <= 1024, `/app took ${got.fill['/app'].mb} MB of a 1024 MB disk`);
    assert.equal(got.fill['/tmp'].stopped, 'ENOSPC', '/tmp shares the quota, and is a full disk, not an out-of-memory kill');
    for (const target of targets) assert.notEqual(got.connect[target], 'connected', `${target} reached`);

    const appId = (await t.api('GET', '/apps/escape')).body.id as string;
    await waitFor('the disk quota line', async () => (await tailLog(t.platform.redis, t.platform.config.redisPrefix, appId, 200))
      .some((e) => /Disk quota exceeded -> \/app and \/tmp hold \d+ MB of the 1024 MB disk of a standard-1x dyno/.test(e.line)), 20_000, 500);
    assert.equal((await t.get('escape')).status, 200, 'the tenant\'s dyno is still up');
  } finally {
    await md.close();
  }
  neighbour.running = false;
  await neighbour.loop;
  assert.ok(neighbour.statuses.length > 20, `${neighbour.statuses.length} requests`);
  assert.deepEqual([...new Set(neighbour.statuses)], [200], 'the neighbour answered every request');
});
