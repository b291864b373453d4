/**
 * The isolation layer with the real runc and the real run stack (built by `npm run setup`). If the stack or
 * runc is missing, these fail with the reason — they are never skipped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import type { ProcessSpec } from '../../runner/sandbox/oci-spec.js';
import { createRunc, type Runc } from '../../runner/sandbox/runc.js';
import { DYNO_GID, DYNO_UID, stackPath } from '../../runner/sandbox/stack.js';

let runc: Runc;
let dir: string;
let rootfs: string;
let n = 0;
before(async () => {
  rootfs = stackPath(loadConfig().stacksDir, 'run');
  assert.ok(existsSync(join(rootfs, '.slipway-stack')), `the run stack is missing at ${rootfs}: run \`npm run setup\` (or slipway stack:build) as root`);
  dir = await mkdtemp(join(tmpdir(), 'slipway-runc-'));
  runc = createRunc({ root: join(dir, 'state'), bundles: join(dir, 'bundles') });
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function spec(script: string, over: Partial<ProcessSpec> = {}): ProcessSpec {
  const id = `slipway-test-${process.pid}-${++n}`;
  return {
    id, hostname: 'web.1', rootfs, args: ['/bin/sh', '-c', script], env: { PATH: '/usr/bin:/bin', HOME: '/tmp' }, cwd: '/',
    uid: DYNO_UID, gid: DYNO_GID, memoryBytes: 128 << 20, cpuShares: 512, pidsLimit: 64, tmpBytes: 32 << 20, cgroupsPath: `/slipway/${id}`, ...over,
  };
}
async function sh(script: string, over: Partial<ProcessSpec> = {}, timeoutMs = 20_000) {
  const lines: string[] = [];
  const r = await runc.runOnce(spec(script, over), { onLine: (l) => lines.push(l), timeoutMs });
  return { ...r, out: lines.join('\n') };
}

test('when a container runs, then it is unprivileged: its own uid, hostname, no capabilities, no new privileges', async () => {
  const r = await sh('id -u; id -g; hostname; grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status');
  assert.equal(r.code, 0, r.out);
  const [uid, gid, host, ...status] = r.out.split('\n');
  assert.equal(uid, String(DYNO_UID));
  assert.equal(gid, String(DYNO_GID));
  assert.equal(host, 'web.1');
  assert.deepEqual(status.map((s) => s.replace(/\s+/g, ' ')), ['CapPrm: 0000000000000000', 'CapEff: 0000000000000000', 'NoNewPrivs: 1']);
});

test('when a container looks around, then it sees only its own processes and cannot read /proc/kcore', async () => {
  const r = await sh('ls /proc | grep -cE "^[0-9]+$"; cat /proc/kcore >/dev/null 2>&1 && echo kcore-readable || echo kcore-blocked; cat /proc/1/cmdline | tr "\\0" " "');
  const [count, kcore, pid1] = r.out.split('\n');
  assert.ok(Number(count) <= 3, `processes visible: ${count}`);
  assert.equal(kcore, 'kcore-blocked');
  assert.match(pid1, /^\/bin\/sh -c/);
});

test('when a container writes, then the stack root is read-only and /tmp is writable', async () => {
  const r = await sh('touch /etc/x 2>/dev/null && echo root-writable || echo root-ro; touch /usr/x 2>/dev/null && echo usr-writable || echo usr-ro; echo hi > /tmp/f && cat /tmp/f');
  assert.deepEqual(r.out.split('\n'), ['root-ro', 'usr-ro', 'hi']);
});

test('when a container exits with a status, then runOnce returns it and nothing is left under runc', async () => {
  const r = await sh('echo out; echo err >&2; exit 7');
  assert.equal(r.code, 7);
  assert.match(r.out, /out/);
  assert.match(r.out, /err/);
  assert.deepEqual(await runc.list(), []);
});

test('when a container goes past its memory limit, then the kernel kills it inside its own cgroup (exit 137)', async () => {
  const r = await sh('python3 -c "b = []\nwhile True: b.append(bytearray(16 << 20))"', { memoryBytes: 64 << 20 });
  assert.equal(r.code, 137, r.out);
  assert.equal(r.oomKilled, true);
  const ok = await sh('echo fine');
  assert.equal(ok.oomKilled, false);
});

test('when a container fork-bombs, then the pids limit stops it at the cap and nothing is left behind', async () => {
  const bomb = 'import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("forks", n, "errno", e.errno)';
  const started = Date.now();
  const r = await sh(`python3 -c '${bomb}'`, { pidsLimit: 32 });
  const m = /forks (\d+) errno (\d+)/.exec(r.out);
  assert.ok(m, r.out);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) < 32, `forks before the cap: ${m[1]}`);
  assert.equal(Number(m[2]), 11, 'EAGAIN from the pids cgroup');
  assert.ok(Date.now() - started < 15_000);
  assert.deepEqual(await runc.list(), []);
});

test('when a container runs past its timeout, then it is killed and reported as timed out', async () => {
  const r = await sh('sleep 60', {}, 1500);
  assert.equal(r.timedOut, true);
  assert.notEqual(r.code, 0);
  assert.deepEqual(await runc.list(), []);
});

test('when a container has a fresh network namespace, then it cannot reach the host loopback services', async () => {
  const r = await sh('python3 -c "import socket\nfor port in (5432, 6379):\n  s = socket.socket(); s.settimeout(1)\n  try: s.connect((\'127.0.0.1\', port)); print(port, \'open\')\n  except Exception as e: print(port, \'closed\')"');
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.out.split('\n'), ['5432 closed', '6379 closed']);
});

test('when an id lacks the slipway- prefix, then the driver refuses to touch it', async () => {
  await assert.rejects(runc.kill('someone-elses'), /not a Slipway container id/);
  await assert.rejects(runc.runOnce({ ...spec('true'), id: 'other-1' }), /not a Slipway container id/);
});
