/**
 * What a worker leaves behind when it dies mid-build: containers, network namespaces, leased addresses and
 * scratch dirs. Each is named by the one scheme (container-name.ts) with its worker's pid as the owner; a
 * starting worker removes those whose worker is gone. Nothing else is touched.
 */
import { removeScratchDisk } from './scratch-disk.js';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listNetns, removeAddonTraffic, removeNetns } from './network.js';
import type { Runc } from './runc.js';
import { ownedByGone } from '../../platform/container-name.js';

const deadOwner = (name: string) => ownedByGone(name, 'worker');

export interface ReapResult {
  containers: string[];
  netns: string[];
  dirs: string[];
}

export async function reapDeadWorkers(o: {
  runc: Runc; scratchDirs: string[];
  /** Frees the dead owners' addresses and says which they were. */
  releaseAddresses: (ownerIds: string[]) => Promise<string[] | void>;
}): Promise<ReapResult> {
  const containers = (await o.runc.list()).map((c) => c.id).filter(deadOwner);
  for (const id of containers) {
    await o.runc.kill(id);
    await o.runc.remove(id);
  }
  const netns = (await listNetns()).filter(deadOwner);
  for (const n of netns) await removeNetns(n);
  // A release phase's add-on rules die with its worker too: left, the address's next holder would inherit them.
  for (const address of (await o.releaseAddresses([...new Set([...containers, ...netns])])) ?? []) await removeAddonTraffic(address);
  const dirs: string[] = [];
  for (const dir of o.scratchDirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!deadOwner(name)) continue;
      await removeScratchDisk(join(dir, name));
      await rm(join(dir, name), { recursive: true, force: true });
      dirs.push(join(dir, name));
    }
  }
  return { containers, netns, dirs };
}
