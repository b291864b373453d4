/**
 * Container start → exit for `/bin/true` on the run stack with the real runc, in three shapes measured in one run
 * (interleaved, medians): the sandbox before issue 23 (no seccomp, /tmp a tmpfs, the overlay's upper dir on the
 * host's filesystem); with Docker's default seccomp profile; with seccomp and a scratch disk (made, mounted,
 * unmounted and removed each time, as a dyno's is). Also the memory a 100 MB write to /tmp leaves charged to the
 * container's cgroup with each /tmp.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../server/config.js';
import { ociSpec, type ProcessSpec } from '../runner/oci-spec.js';
import { createScratchDisk, removeScratchDisk } from '../runner/scratch-disk.js';
import { DYNO_GID, DYNO_UID, stackPath } from '../runner/stack.js';

const run = promisify(execFile);
type Shape = 'before' | 'seccomp' | 'seccomp+disk';

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
  const config = ociSpec(spec) as { linux: Record<string, unknown> };
  if (shape === 'before') delete config.linux.seccomp;
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
  await mkdir(join(dir, 'lower'));
  const shapes: Shape[] = ['before', 'seccomp', 'seccomp+disk'];
  const times: Record<Shape, number[]> = { before: [], seccomp: [], 'seccomp+disk': [] };
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
    // What a 100 MB file in /tmp costs the container's memory: tmpfs pages stay charged, a disk's page cache is reclaimable.
    const charged = 'dd if=/dev/zero of=/tmp/f bs=1M count=100 2>/dev/null; sync; cat /sys/fs/cgroup/memory/memory.usage_in_bytes';
    for (const s of ['before', 'seccomp+disk'] as const) {
      const mb = Number((await once(dir, s, ++n, charged)).out) / 2 ** 20;
      figures[`tmp_100mb_charged_mb_${s}`] = Math.round(mb);
      console.log(`a 100 MB /tmp file, memory charged (${s === 'before' ? 'tmpfs' : 'scratch disk'}): ${mb.toFixed(0)} MB`);
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
