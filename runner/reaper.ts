/**
 * What a worker leaves behind when it dies mid-build: containers, network namespaces, leased addresses and
 * scratch dirs. Each carries the worker's pid (`-w<pid>-`); a starting worker removes those whose pid is gone.
 * Nothing without the exact Slipway pattern is touched.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listNetns, removeNetns } from './network.js';
import type { Runc } from './runc.js';

/** Container/netns ids a worker makes: build steps and one-off release phases. */
const WORKER_ID = [/^slipway-build-w(\d+)-[a-z0-9]+-\d+$/, /^slipway-[a-z][a-z0-9-]*-v\d+-release-1-w(\d+)-[a-z0-9]+$/];
/** Scratch dirs: build dirs in tmp and one-off upper dirs (mkdtemp adds 6 characters). */
const WORKER_DIR = [/^slipway-build-w(\d+)-[a-z][a-z0-9-]*-[A-Za-z0-9]{6}$/, /^slipway-[a-z][a-z0-9-]*-v\d+-release-1-w(\d+)-[a-z0-9]+-[A-Za-z0-9]{6}$/];

export const workerTag = () => `w${process.pid}`;

function deadOwner(name: string, patterns: RegExp[]): boolean {
  for (const re of patterns) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false; // alive: not ours to clean
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return false;
}

export interface ReapResult {
  containers: string[];
  netns: string[];
  dirs: string[];
}

export async function reapDeadWorkers(o: { runc: Runc; scratchDirs: string[]; releaseAddresses: (ownerIds: string[]) => Promise<void> }): Promise<ReapResult> {
  const containers = (await o.runc.list()).map((c) => c.id).filter((id) => deadOwner(id, WORKER_ID));
  for (const id of containers) {
    await o.runc.kill(id);
    await o.runc.remove(id);
  }
  const netns = (await listNetns()).filter((n) => deadOwner(n, WORKER_ID));
  for (const n of netns) await removeNetns(n);
  await o.releaseAddresses([...new Set([...containers, ...netns])]);
  const dirs: string[] = [];
  for (const dir of o.scratchDirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!deadOwner(name, WORKER_DIR)) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      dirs.push(join(dir, name));
    }
  }
  return { containers, netns, dirs };
}
