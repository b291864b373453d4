import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ociSpec, type ProcessSpec } from '../../runner/sandbox/oci-spec.js';
import { stackName } from '../../runner/sandbox/stack.js';

const base: ProcessSpec = {
  id: 'slipway-app-v3-web-1', hostname: 'web.1', rootfs: '/stacks/run', args: ['/bin/sh', '-c', 'npm start'],
  env: { PORT: '5000', DYNO: 'web.1' }, cwd: '/app', uid: 10000, gid: 10000, memoryBytes: 512 << 20, cpuShares: 1024,
  pidsLimit: 256, tmpBytes: 64 << 20, cgroupsPath: '/slipway/slipway-app-v3-web-1',
  app: { lower: '/slugs/abc', upper: '/dynos/x/upper', work: '/dynos/x/work' },
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const spec = (p: Partial<ProcessSpec> = {}) => ociSpec({ ...base, ...p }) as any;

test('when a dyno spec is made, then it has every namespace, a read-only stack root and the dyno hostname', () => {
  const s = spec();
  assert.deepEqual(s.linux.namespaces.map((n: { type: string }) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  assert.deepEqual(s.root, { path: '/stacks/run', readonly: true });
  assert.equal(s.hostname, 'web.1');
  assert.equal(s.linux.cgroupsPath, '/slipway/slipway-app-v3-web-1');
});

test('when a dyno spec is made, then the process is unprivileged: uid not 0, no capabilities, no new privileges', () => {
  const p = spec().process;
  assert.notEqual(p.user.uid, 0);
  assert.notEqual(p.user.gid, 0);
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) assert.deepEqual(p.capabilities[set], [], set);
  assert.equal(p.noNewPrivileges, true);
  assert.deepEqual(p.env, ['PORT=5000', 'DYNO=web.1']);
  assert.equal(p.terminal, false);
});

test("when a dyno spec is made, then Docker's masked and read-only paths apply", () => {
  const l = spec().linux;
  for (const m of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']) assert.ok(l.maskedPaths.includes(m), m);
  for (const r of ['/proc/sys', '/proc/sysrq-trigger']) assert.ok(l.readonlyPaths.includes(r), r);
  assert.deepEqual(l.resources.devices, [{ allow: false, access: 'rwm' }]);
});

test('when a size is given, then memory+swap equals memory, and cpu and pids are limited', () => {
  const r = spec({ cpuCores: 1.5 }).linux.resources;
  assert.deepEqual(r.memory, { limit: 512 << 20, swap: 512 << 20 });
  assert.deepEqual(r.cpu, { shares: 1024, quota: 150000, period: 100000 });
  assert.deepEqual(r.pids, { limit: 256 });
  assert.deepEqual(spec().linux.resources.cpu, { shares: 1024 });
});

test('when a dyno runs a slug, then /app is an overlay of the shared slug and its own upper dir, and /tmp is capped', () => {
  const mounts = spec().mounts;
  const app = mounts.find((m: { destination: string }) => m.destination === '/app');
  assert.equal(app.type, 'overlay');
  assert.deepEqual(app.options.slice(0, 3), ['lowerdir=/slugs/abc', 'upperdir=/dynos/x/upper', 'workdir=/dynos/x/work']);
  const tmp = mounts.find((m: { destination: string }) => m.destination === '/tmp');
  assert.ok(tmp.options.includes(`size=${64 << 20}`));
  assert.ok(mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('ro'));
});

test('when a build container binds its dirs, then read-only binds are ro and there is no /app overlay', () => {
  const s = spec({ app: undefined, binds: [{ source: '/h/build', destination: '/tmp/build', readonly: false }, { source: '/h/env', destination: '/tmp/env', readonly: true }] });
  assert.equal(s.mounts.find((m: { destination: string }) => m.destination === '/app'), undefined);
  assert.ok(s.mounts.find((m: { destination: string }) => m.destination === '/tmp/build').options.includes('rw'));
  assert.ok(s.mounts.find((m: { destination: string }) => m.destination === '/tmp/env').options.includes('ro'));
});

test('when a network namespace is named, then the dyno joins it', () => {
  const ns = spec({ netnsPath: '/var/run/netns/slipway-x' }).linux.namespaces.find((n: { type: string }) => n.type === 'network');
  assert.equal(ns.path, '/var/run/netns/slipway-x');
});

test('when the stack recipe is the same, then the stack name is too; run and build stacks differ', () => {
  assert.equal(stackName('run'), stackName('run'));
  assert.match(stackName('run'), /^bookworm-run-[0-9a-f]{10}$/);
  assert.notEqual(stackName('run'), stackName('build'));
});
