/**
 * Container start → exit for `/bin/true` on the run stack with the real runc, in three shapes measured in one run
 * (interleaved, medians): the sandbox before issue 23 (no seccomp, /tmp a tmpfs, the overlay's upper dir on the
 * host's filesystem); with Docker's default seccomp profile; with seccomp and a scratch disk (made, mounted,
 * unmounted and removed each time, as a dyno's is); and with seccomp in a user namespace of its own (the other way to
 * give each container its own uids, measured against a uid per app).
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../server/config.js';
import { ociSpec, type ProcessSpec } from '../runner/sandbox/oci-spec.js';
import { createScratchDisk, removeScratchDisk } from '../runner/sandbox/scratch-disk.js';
import { DYNO_GID, DYNO_UID, stackPath } from '../runner/sandbox/stack.js';

const run = promisify(execFile);
type Shape = 'before' | 'seccomp' | 'seccomp+disk' | 'seccomp+userns';

async function once(dir: string, shape: Shape, n: number, script = 'true'): Promise<{ ms: number; out: string }> {
  const id = `slipway-bench-${process.pid}-${n}`;
  const bundle = join(dir, id);
  const scratch = join(dir, `${id}-scratch`);
  const lower = join(dir, 'lower');
  await mkdir(bundle, { recursive: true });
  await mkdir(scratch, { recursive: true });
  const started = process.hrtime.bigint();
  const base: ProcessSpec = {
    id, hostname: 'web.1', rootfs: stackPath(loadConfig().stacksDir, 'run'), args: ['/bin/sh', '-c', script], env: { PATH: '/usr/bin:/bin' },
    cwd: '/', uid: DYNO_UID, gid: DYNO_GID, memoryBytes: 512 << 20, cpuShares: 1024, pidsLimit: 256, tmpBytes: 512 << 20, cgroupsPath: `/slipway/${id}`,
  };
  let spec: ProcessSpec;
  if (shape === 'seccomp+disk') {
    const disk = await createScratchDisk(scratch, 2 * 2 ** 30, DYNO_UID, DYNO_GID);
    spec = { ...base, app: { lower, upper: disk.upper, work: disk.work }, tmpDir: disk.tmp };
  } else {
    await mkdir(join(scratch, 'upper'));
    await mkdir(join(scratch, 'work'));
    spec = { ...base, app: { lower, upper: join(scratch, 'upper'), work: join(scratch, 'work') } };
  }
  const config = ociSpec(spec) as { linux: Record<string, unknown> & { namespaces: { type: string }[] }; process: { user: { uid: number; gid: number } } };
  if (shape === 'before') delete config.linux.seccomp;
  if (shape === 'seccomp+userns') {
    // The alternative to a uid per app: a user namespace per container, mapping its 0-65535 to a range of its own.
    // (runc 1.1 cannot idmap mounts: files the host owns show as nobody inside, so /app would need a chown.)
    const base = 200_000 + (n % 1000) * 65_536;
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: base, size: 65_536 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: base, size: 65_536 }];
    config.process.user = { uid: 10_000, gid: 10_000 };
    // The overlay's dirs must belong to the mapped range (for a real slug: its whole tree, at every start).
    for (const d of [lower, join(scratch, 'upper'), join(scratch, 'work')]) await chown(d, base, base);
  }
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
  const r = await run('runc', ['--root', join(dir, 'state'), 'run', '--bundle', bundle, id], { maxBuffer: 1 << 20 });
  await removeScratchDisk(scratch);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await rm(bundle, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  return { ms, out: r.stdout.trim() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchDynoStart(rounds = 20): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-start-'));
  await chmod(dir, 0o711); // the user-namespace shape's mapped root must reach its dirs
  await mkdir(join(dir, 'lower'));
  const shapes: Shape[] = ['before', 'seccomp', 'seccomp+disk', 'seccomp+userns'];
  const times: Record<Shape, number[]> = { before: [], seccomp: [], 'seccomp+disk': [], 'seccomp+userns': [] };
  let n = 0;
  try {
    for (let i = 0; i < rounds; i++) for (const s of shapes) times[s].push((await once(dir, s, ++n)).ms);
    const base = median(times.before);
    const figures: Record<string, number> = {};
    for (const s of shapes) {
      const m = median(times[s]);
      figures[`${s}_ms`] = Number(m.toFixed(1));
      console.log(`${s.padEnd(14)} median ${m.toFixed(1).padStart(6)} ms   ×${(m / base).toFixed(2)} of before`);
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
