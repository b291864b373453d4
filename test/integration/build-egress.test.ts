/**
 * What a build step with the network reaches (bin/compile, a buildpack's git clone: tenant code), in a real build
 * container with its build egress policy loaded, against stand-ins for the outside in network namespaces this test
 * makes: 198.18.0.1 (any public service; a package registry when a test says so) and 10.99.77.1 (the operator's
 * private network). Before, a build reached both whatever its app's policy.
 * - An app that may reach anything: its build reaches the public one, not the private one (unless the operator
 *   opens that range, SLIPWAY_OUTBOUND_ALLOW).
 * - An app denied everything: its build reaches only the registry (what `always` holds), on its port.
 * - An allowlist: its build reaches what the list names, and the registry, nothing private.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import { createRuncBuildExecutor } from '../../runner/build/build-executor.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { stackPath } from '../../runner/sandbox/stack.js';
import type { BuildEgress, EgressPolicy } from '../../platform/egress.js';
import type { BuildExecutor } from '../../runner/build/executor.js';
import { buildEgress, nameservers } from '../../server/builds/build-egress.js';
import { outsideStandIn } from '../helpers/outside.js';

let dir: string;
let executor: BuildExecutor;
const standIns: { close(): Promise<void> }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-build-egress-'));
  await chmod(dir, 0o755);
  const c = loadConfig();
  const rootfs = stackPath(c.stacksDir, 'build');
  assert.ok(existsSync(rootfs), `the build stack is missing at ${rootfs}: run npm run setup`);
  let next = 0;
  executor = createRuncBuildExecutor({
    runc: createRunc({ root: join(dir, 'runc'), bundles: join(dir, 'bundles') }), rootfs,
    network: { bridge: c.bridge, subnet: c.subnet, nat: c.nat },
    addresses: { allocate: async () => c.subnet.replace(/\.\d+\/\d+$/, `.${150 + (next++ % 20)}`), release: async () => undefined },
    memoryBytes: 256 << 20, mounts: [], identitiesDir: join(dir, 'identities'),
  });
  standIns.push(await outsideStandIn('198.18.0.1', 'bp'), await outsideStandIn('10.99.77.1', 'bv'));
});
after(async () => {
  for (const s of standIns) await s.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What a build step finds at each address:port: open or closed. */
async function probe(egress: BuildEgress, targets: string[]): Promise<string> {
  const work = await mkdtemp(join(dir, 'work-'));
  await chmod(work, 0o755);
  await mkdir(join(work, 'bin'));
  const lines = targets.map((t) => {
    const [ip, port] = t.split(':');
    return `if timeout 3 bash -c 'exec 3<>/dev/tcp/${ip}/${port}' 2>/dev/null; then echo "open ${t}"; else echo "closed ${t}"; fi`;
  });
  await writeFile(join(work, 'bin', 'step'), `#!/bin/bash\n${lines.join('\n')}\n`, { mode: 0o755 });
  const r = await executor.run([join(work, 'bin', 'step')], {
    cwd: work, env: { PATH: '/usr/bin:/bin' }, network: true, egress, uid: 100900,
    mounts: [{ source: work, destination: '/tmp/work', readonly: false, owned: true }],
  });
  assert.equal(r.code, 0, r.stdout);
  return r.stdout.trim();
}

const PUBLIC = ['198.18.0.1:8775', '198.18.0.1:8776'];
const PRIVATE = ['10.99.77.1:8775'];
const allow: EgressPolicy = { policy: 'allow' };

test('when an app may reach anything, then its build reaches the outside but not the private ranges, unless the operator opens one', async () => {
  assert.equal(await probe({ app: allow, always: [] }, [...PUBLIC, ...PRIVATE]), 'open 198.18.0.1:8775\nopen 198.18.0.1:8776\nclosed 10.99.77.1:8775');
  assert.equal(await probe({ app: allow, always: [{ cidr: '10.99.77.0/24' }] }, PRIVATE), 'open 10.99.77.1:8775', 'SLIPWAY_OUTBOUND_ALLOW opens it');
});

test('when an app is denied everything, then its build reaches only the registry, on the registry\'s port', async () => {
  const egress = await buildEgress({ policy: 'deny' }, { npmRegistry: 'http://198.18.0.1:8775/', outboundAllow: [], resolvConf: join(dir, 'none') });
  assert.deepEqual(egress.always, [{ cidr: '198.18.0.1/32', ports: [8775] }]);
  assert.equal(await probe(egress, [...PUBLIC, ...PRIVATE]), 'open 198.18.0.1:8775\nclosed 198.18.0.1:8776\nclosed 10.99.77.1:8775');
});

test('when an app has an allowlist, then its build reaches what it names and nothing private', async () => {
  const app: EgressPolicy = { policy: 'allowlist', rules: [{ cidr: '198.18.0.1/32', ports: [8776] }] };
  assert.equal(await probe({ app, always: [] }, [...PUBLIC, ...PRIVATE]), 'closed 198.18.0.1:8775\nopen 198.18.0.1:8776\nclosed 10.99.77.1:8775');
});

test('when the host\'s resolv.conf names resolvers, then builds may ask them (port 53), private or not', async () => {
  assert.deepEqual(nameservers('# a comment\nnameserver 10.0.0.2\nnameserver 2001:db8::1\nsearch example\nnameserver 1.1.1.1\n'), ['10.0.0.2', '1.1.1.1']);
  const conf = join(dir, 'resolv.conf');
  await writeFile(conf, 'nameserver 10.0.0.2\n');
  const egress = await buildEgress(allow, { npmRegistry: 'https://198.18.0.9/', outboundAllow: ['192.168.5.0/24'], resolvConf: conf });
  assert.deepEqual(egress.always, [{ cidr: '198.18.0.9/32', ports: [443, 80] }, { cidr: '10.0.0.2/32', ports: [53] }, { cidr: '192.168.5.0/24' }]);
});
