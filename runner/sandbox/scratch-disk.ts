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

/**
 * A filesystem of `bytes` in the sparse image file `image`, mounted at `mountpoint` (which is made): a fresh one, or
 * (keep) the image's earlier contents when it exists (a build cache, the add-on servers' data). No journal unless
 * asked (a crash loses a cache or a container's scratch, nothing else; data that must outlive one asks), no
 * reserved blocks, inode tables made lazily.
 */
export async function mountDisk(image: string, mountpoint: string, bytes: number, o: { keep?: boolean; journal?: boolean } = {}): Promise<void> {
  if (!Number.isInteger(bytes) || bytes < 16 * 2 ** 20) throw new Error(`disk size too small: ${bytes}`);
  const exists = o.keep && (await stat(image).then((st) => st.isFile(), () => false));
  if (!exists) {
    const f = await open(image, o.keep ? 'w' : 'wx', 0o600);
    try {
      await f.truncate(bytes);
    } finally {
      await f.close();
    }
    await run('mkfs.ext4', ['-q', '-F', ...(o.journal ? [] : ['-O', '^has_journal']), '-m', '0', '-E', 'lazy_itable_init=1,nodiscard', image]);
  }
  await mkdir(mountpoint, { recursive: true, mode: 0o711 });
  await run('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev', image, mountpoint]);
  if (!exists) await rm(join(mountpoint, 'lost+found'), { recursive: true, force: true });
}

/** Unmounts what is mounted at mountpoint, if anything (lazily: a process still holding a file cannot pin it). */
export async function unmountDisk(mountpoint: string): Promise<void> {
  await run('umount', ['-l', mountpoint]).catch(() => undefined);
}

/** Makes and mounts a scratch disk of `bytes` in dir (which must exist); upper/ and tmp/ belong to uid:gid. */
export async function createScratchDisk(dir: string, bytes: number, uid: number, gid: number): Promise<ScratchDisk> {
  const p = scratchPaths(dir);
  await mountDisk(join(dir, 'disk.img'), p.root, bytes);
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
  await unmountDisk(scratchPaths(dir).root);
  await rm(join(dir, 'disk.img'), { force: true });
}

/** Bytes free to unprivileged writers on the filesystem holding path. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

const mb = (n: number) => Math.floor(n / 2 ** 20);

/**
 * Scratch disks are sparse: each takes host disk only as its dyno writes, up to its size. Admission keeps the sum
 * honest: a new disk is made only if the free space covers what every disk already made may still grow by, the new
 * one whole, and the reserve kept for PostgreSQL, Redis and git. One admission at a time.
 */
export function createDiskAdmission(o: { dir: string; reserveBytes: number }) {
  const promised = new Map<string, { dir: string; bytes: number }>();
  let queue: Promise<unknown> = Promise.resolve();
  async function admit(id: string, dir: string, bytes: number, what: string): Promise<void> {
    const free = await freeBytes(o.dir);
    let growth = 0;
    for (const p of promised.values()) growth += Math.max(0, p.bytes - ((await scratchUse(p.dir))?.usedBytes ?? 0));
    if (free - growth - bytes < o.reserveBytes) {
      throw new Error(`the host's disk is nearly full: ${mb(free)} MB free, ${mb(growth)} MB promised to running dynos' disks and ${mb(o.reserveBytes)} MB kept for the platform's database, queues and repositories (SLIPWAY_DISK_RESERVE_MB); ${what} needs ${mb(bytes)} MB`);
    }
    promised.set(id, { dir, bytes });
  }
  return {
    admit(id: string, dir: string, bytes: number, what: string): Promise<void> {
      const turn = queue.then(() => admit(id, dir, bytes, what));
      queue = turn.catch(() => undefined);
      return turn;
    },
    release(id: string): void {
      promised.delete(id);
    },
  };
}

export interface DiskUse {
  usedBytes: number;
  totalBytes: number;
}

/**
 * Whether a disk is full for its writers: ext4 keeps a few percent (at most 16 MB) back from them even with no
 * reserved blocks, so at ENOSPC statfs still shows that much free.
 */
export function diskFull(u: DiskUse | undefined): boolean {
  return !!u && u.totalBytes - u.usedBytes < Math.max(2 * 2 ** 20, Math.min(32 * 2 ** 20, u.totalBytes * 0.03));
}

/** What the scratch disk holds (statfs of the mounted filesystem), or undefined when none is mounted. */
export async function scratchUse(dir: string): Promise<DiskUse | undefined> {
  return diskUse(scratchPaths(dir).root);
}

/** What the filesystem mounted at mountpoint holds, or undefined when nothing is mounted there. */
export async function diskUse(mountpoint: string): Promise<DiskUse | undefined> {
  const [inner, outer] = await Promise.all([stat(mountpoint).catch(() => undefined), stat(join(mountpoint, '..')).catch(() => undefined)]);
  if (!inner || !outer || inner.dev === outer.dev) return undefined; // not (or no longer) mounted
  const s = await statfs(mountpoint);
  return { usedBytes: (s.blocks - s.bfree) * s.bsize, totalBytes: s.blocks * s.bsize };
}
