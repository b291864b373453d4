/**
 * The add-on servers' data (DATA/addons: the add-on PostgreSQL, the Redis add-ons, backups) on a filesystem of its
 * own, so a tenant filling its database fills that filesystem, never the one the platform's own database, slugs and
 * builds live on. As root and unless SLIPWAY_ADDON_DISK_MB is 0, `slipway up` makes DATA/addons.img (a sparse ext4
 * image with a journal: it takes host disk only as it fills, never more than its size), and loop-mounts it at
 * DATA/addons (nodev, nosuid), as runner/sandbox/scratch-disk.ts mounts every disk of the platform. Its size is
 * SLIPWAY_ADDON_DISK_MB, or (auto) a quarter of what the data dir's disk had free when it was made, between 1 and
 * 100 GB; an image once made keeps its size.
 *
 * A filesystem an operator mounted at DATA/addons is theirs: used as it is, never unmounted. A DATA/addons that
 * already holds data (made before this) stays where it is, with a warning saying how to move it.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { mountDisk, unmountDisk } from '../../runner/index.js';

const run = promisify(execFile);
const GB = 2 ** 30;

export type AddonDiskSize = number | 'auto';

export interface AddonDisk {
  /** Where it is mounted, and whether the platform mounted it (and unmounts it at stop). */
  dir: string;
  ours: boolean;
  unmount(): Promise<void>;
}

/** A quarter of what the disk has free, between 1 and 100 GB, in whole MB. */
export function autoSize(freeBytes: number): number {
  const quarter = Math.floor(freeBytes / 4 / 2 ** 20) * 2 ** 20;
  return Math.min(100 * GB, Math.max(1 * GB, quarter));
}

/** The mount at dir, as /proc/self/mountinfo has it (its source device), if dir is a mount point. */
async function mountAt(dir: string): Promise<{ source: string } | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  let found: { source: string } | undefined;
  for (const line of info.split('\n')) {
    const [head, tail] = line.split(' - ');
    if (!tail) continue;
    const point = head.split(' ')[4]?.replace(/\\040/g, ' ');
    if (point === dir) found = { source: tail.split(' ')[1] }; // the last mount at a point is the one seen
  }
  return found;
}

/** The loop devices backed by the image (losetup -j). */
async function loopsOf(image: string): Promise<string[]> {
  const r = await run('losetup', ['-j', image]).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').map((l) => l.split(':')[0]).filter(Boolean);
}

export async function mountAddonDisk(dir: string, size: AddonDiskSize, log: Logger): Promise<AddonDisk | undefined> {
  const image = `${dir}.img`;
  // Lazily: a process of an add-on still on it cannot pin it (detached now, gone when the last one lets go).
  const unmount = () => unmountDisk(dir);
  const mounted = await mountAt(dir);
  if (mounted) {
    const ours = (await loopsOf(image)).includes(mounted.source);
    if (ours) log.info('the add-on servers\' filesystem is mounted already (an earlier start)', { dir });
    return { dir, ours, unmount: ours ? unmount : async () => undefined };
  }
  const hasImage = await stat(image).then(() => true, () => false);
  if (!hasImage) {
    const held = await readdir(dir).catch(() => [] as string[]);
    if (held.length > 0) {
      log.warn(`the add-on servers' data is on the data dir's own disk: ${dir} holds data made before it had a filesystem of its own. To move it, stop Slipway, move ${dir} aside, start once (a new ${image} is made) and copy the data in`);
      return undefined;
    }
  }
  // A new image is made at its size (auto: from what the disk has free now); one made before keeps its own.
  const free = hasImage ? 0 : await statfs(dirname(dir)).then((s) => s.bavail * s.bsize);
  await mountDisk(image, dir, size === 'auto' ? autoSize(free) : size, { keep: true, journal: true });
  if (!hasImage) log.info('made the add-on servers\' filesystem', { image });
  return { dir, ours: true, unmount };
}
