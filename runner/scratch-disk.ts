/**
 * A container's scratch disk: the writable layer of /app (overlay upper and work dirs) and /tmp live on a small
 * ext4 filesystem of their own, a sparse image file loop-mounted in the container's dir. The kernel enforces its
 * size: past it the app's writes get ENOSPC and the app keeps running, and nothing it writes lands on the host's
 * filesystem beyond the image (which is never larger than the quota). Unlike a tmpfs, the pages are not charged to
 * the dyno's memory as unreclaimable, so a full /tmp is a full disk, not an out-of-memory kill.
 *
 * Measured on this machine: making (truncate + mkfs.ext4 without a journal) and mounting take ≈ 15–25 ms and
 * ≈ 0.7 MB of disk for a 1 GB image; see `npm run bench dyno-start`.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, open, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ScratchDisk {
  /** The mounted filesystem: upper/ and work/ for /app's overlay, tmp/ for /tmp, home/ for a build's writable dirs. */
  root: string;
  upper: string;
  work: string;
  tmp: string;
}

export const scratchPaths = (dir: string): ScratchDisk => {
  const root = join(dir, 'disk');
  return { root, upper: join(root, 'upper'), work: join(root, 'work'), tmp: join(root, 'tmp') };
};

/** Makes and mounts a scratch disk of `bytes` in dir (which must exist); upper/ and tmp/ belong to uid:gid. */
export async function createScratchDisk(dir: string, bytes: number, uid: number, gid: number): Promise<ScratchDisk> {
  if (!Number.isInteger(bytes) || bytes < 16 * 2 ** 20) throw new Error(`scratch disk size too small: ${bytes}`);
  const image = join(dir, 'disk.img');
  const p = scratchPaths(dir);
  const f = await open(image, 'wx', 0o600);
  try {
    await f.truncate(bytes);
  } finally {
    await f.close();
  }
  // No journal (the disk is thrown away with the container), no reserved blocks, inode tables made lazily.
  await run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', '-m', '0', '-E', 'lazy_itable_init=1,nodiscard', image]);
  await mkdir(p.root, { mode: 0o711 });
  await run('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev', image, p.root]);
  await rm(join(p.root, 'lost+found'), { recursive: true, force: true });
  await mkdir(p.upper, { mode: 0o755 });
  await mkdir(p.work, { mode: 0o700 });
  await mkdir(p.tmp, { mode: 0o1777 });
  await chown(p.upper, uid, gid);
  await chown(p.tmp, uid, gid);
  await chmod(p.tmp, 0o1777); // mkdir's mode passes through the umask
  return p;
}

/** Unmounts the scratch disk of dir if it is mounted (its loop device goes with it) and removes the image. */
export async function removeScratchDisk(dir: string): Promise<void> {
  const { root } = scratchPaths(dir);
  // The container's mounts are gone once runc deleted it; lazy, so a process still holding a file cannot pin it.
  await run('umount', ['-l', root]).catch(() => undefined);
  await rm(join(dir, 'disk.img'), { force: true });
}

export interface DiskUse {
  usedBytes: number;
  totalBytes: number;
}

/** What the scratch disk holds (statfs of the mounted filesystem), or undefined when none is mounted. */
export async function scratchUse(dir: string): Promise<DiskUse | undefined> {
  const { root } = scratchPaths(dir);
  const [inner, outer] = await Promise.all([stat(root).catch(() => undefined), stat(dir).catch(() => undefined)]);
  if (!inner || !outer || inner.dev === outer.dev) return undefined; // not (or no longer) mounted
  const s = await statfs(root);
  return { usedBytes: (s.blocks - s.bfree) * s.bsize, totalBytes: s.blocks * s.bsize };
}
