/**
 * The sandbox every container gets (runner/sandbox/oci-spec.ts, seccomp.ts, scratch-disk.ts), tried from inside a real runc
 * container on the real run stack: Docker's default seccomp profile loads on this kernel and refuses what it must,
 * the scratch disk gives ENOSPC (not an OOM kill, not the host's disk), IPv6 is off, limits are set. A syscall probe
 * (test/fixtures/probes/syscalls.c) is compiled with gcc for the test. Nothing is skipped: a missing stack, runc or
 * compiler fails with the reason.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../server/config.js';
import type { ProcessSpec } from '../../runner/sandbox/oci-spec.js';
import { createRunc, type Runc } from '../../runner/sandbox/runc.js';
import { createScratchDisk, removeScratchDisk, scratchUse } from '../../runner/sandbox/scratch-disk.js';
import { DYNO_GID, DYNO_UID, stackPath } from '../../runner/sandbox/stack.js';
import { REFUSED, allowedSyscalls } from '../../runner/sandbox/seccomp.js';

const run = promisify(execFile);
let runc: Runc;
let dir: string;
let rootfs: string;
let probeDir: string;
let n = 0;

before(async () => {
  rootfs = stackPath(loadConfig().stacksDir, 'run');
  assert.ok(existsSync(join(rootfs, '.slipway-stack')), `the run stack is missing at ${rootfs}: run \`npm run setup\` as root`);
  dir = await mkdtemp(join(tmpdir(), 'slipway-sandbox-'));
  runc = createRunc({ root: join(dir, 'state'), bundles: join(dir, 'bundles') });
  probeDir = join(dir, 'probe');
  await mkdir(probeDir);
  const source = join(process.cwd(), 'test', 'fixtures', 'probes', 'syscalls.c');
  await run('gcc', ['-static', '-O1', '-o', join(probeDir, 'syscalls'), source]).catch((e: Error) => {
    throw new Error(`cannot build the syscall probe (gcc and libc6-dev come with npm run setup): ${e.message}`);
  });
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function spec(script: string, over: Partial<ProcessSpec> = {}): ProcessSpec {
  const id = `slipway-sandbox-${process.pid}-${++n}`;
  return {
    id, hostname: 'web.1', rootfs, args: ['/bin/sh', '-c', script], env: { PATH: '/usr/bin:/bin:/probe', HOME: '/tmp' }, cwd: '/',
    uid: DYNO_UID, gid: DYNO_GID, memoryBytes: 128 << 20, cpuShares: 512, pidsLimit: 64, tmpBytes: 32 << 20, cgroupsPath: `/slipway/${id}`,
    binds: [{ source: probeDir, destination: '/probe', readonly: true }], ...over,
  };
}
async function sh(script: string, over: Partial<ProcessSpec> = {}, timeoutMs = 60_000) {
  const lines: string[] = [];
  const r = await runc.runOnce(spec(script, over), { onLine: (l) => lines.push(l), timeoutMs });
  return { ...r, out: lines.join('\n') };
}

test('the profile refuses every syscall the issue names and allows what programs need', () => {
  const allowed = allowedSyscalls();
  for (const name of REFUSED) assert.ok(!allowed.has(name) || name === 'clone3', `${name} is allowed`);
  for (const name of ['read', 'write', 'openat', 'execve', 'socket', 'clone', 'futex', 'epoll_wait', 'mmap']) assert.ok(allowed.has(name), name);
});

test('when a container starts, then seccomp filters it (mode 2) in runc on this kernel', async () => {
  const r = await sh('grep -E "^Seccomp:" /proc/self/status');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^Seccomp:\s+2$/m, `no seccomp filter in the container: ${r.out}`);
});

test('when a tenant tries namespaces, keys, bpf, perf, mount, kexec, modules, the clock or io_uring, then each is EPERM', async () => {
  const r = await sh('syscalls');
  assert.equal(r.code, 0, r.out);
  const got = Object.fromEntries(r.out.split('\n').map((l) => l.split(' ') as [string, string]));
  for (const name of ['unshare-user', 'unshare-net', 'clone-newuser', 'keyctl', 'add_key', 'bpf', 'perf_event_open', 'mount',
    'kexec_load', 'init_module', 'clock_settime', 'io_uring_setup', 'userfaultfd', 'socket-vsock', 'personality-odd']) {
    assert.equal(got[name], 'errno=1', `${name}: ${got[name]} (want EPERM)`);
  }
  assert.equal(got.clone3, 'errno=38', 'clone3 is ENOSYS so libc falls back to clone');
  for (const name of ['socket-inet', 'fork', 'getpid']) assert.equal(got[name], 'ok', `${name} must still work`);
});

test('when a tenant runs unshare -Ur, then it gets no user namespace and no capabilities', async () => {
  const r = await sh('unshare -Ur id 2>&1; echo "exit=$?"');
  assert.doesNotMatch(r.out, /uid=0\(root\)/, r.out);
  assert.match(r.out, /exit=[1-9]/);
});

test('when a dyno fills its scratch disk through /app and /tmp, then it gets ENOSPC, keeps running, and the host holds at most the quota', async () => {
  const scratch = join(dir, `scratch-${++n}`);
  const lower = join(dir, `lower-${n}`);
  await mkdir(scratch);
  await mkdir(lower);
  const disk = await createScratchDisk(scratch, 48 << 20, DYNO_UID, DYNO_GID);
  try {
    // 64 MB of memory, a 48 MB disk: 100 MB written must be a full disk, never an out-of-memory kill.
    const r = await sh(
      'for f in /app/big /tmp/big; do dd if=/dev/zero of=$f bs=1M count=100 2>&1 | grep -o "No space left on device"; done; echo alive; ls -ld /tmp | cut -c1-10',
      { app: { lower, upper: disk.upper, work: disk.work }, tmpDir: disk.tmp, memoryBytes: 64 << 20, cwd: '/app' },
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(r.oomKilled, false);
    assert.equal(r.out.match(/No space left on device/g)?.length, 2, `ENOSPC through /app and through /tmp: ${r.out}`);
    assert.match(r.out, /^alive$/m);
    assert.match(r.out, /^drwxrwxrwt$/m, '/tmp is world-writable and sticky');
    const use = await scratchUse(scratch);
    assert.ok(use && use.usedBytes > 40 << 20 && use.totalBytes <= 48 << 20, JSON.stringify(use));
    const image = await stat(join(scratch, 'disk.img'));
    assert.ok(image.blocks * 512 <= 48 << 20, `the image holds ${image.blocks * 512} bytes on the host`);
  } finally {
    await removeScratchDisk(scratch);
  }
  assert.equal(await scratchUse(scratch), undefined, 'unmounted');
  assert.equal(existsSync(join(scratch, 'disk.img')), false);
});

test('when a container looks at its network, then it has no IPv6 (no fe80:: address to reach neighbours by)', async () => {
  const r = await sh('cat /proc/sys/net/ipv6/conf/all/disable_ipv6; wc -l < /proc/net/if_inet6');
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.out.split('\n'), ['1', '0']);
});

test('when a container checks its limits, then open files, processes and core dumps are as its size sets them', async () => {
  const r = await sh('grep -E "^Max (open files|processes|core file size)" /proc/self/limits', { nofile: 12345, nproc: 2048 });
  assert.equal(r.code, 0, r.out);
  const soft = (name: string) => new RegExp(`^Max ${name}\\s+(\\S+)`, 'm').exec(r.out)?.[1];
  assert.deepEqual([soft('open files'), soft('processes'), soft('core file size')], ['12345', '2048', '0'], r.out);
});
