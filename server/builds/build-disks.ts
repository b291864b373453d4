/**
 * A build's disks: the build dir on a fresh filesystem of SLIPWAY_BUILD_DISK_MB (made in the build's scratch dir,
 * thrown away with it), and the app's build cache on a filesystem of SLIPWAY_BUILD_CACHE_MB of its own (a sparse
 * image beside the cache's mount point, DATA/cache/apps/ID.img, kept between builds). The kernel enforces both: a
 * build that fills one fails with ENOSPC, and its output ends with a line naming the disk and its setting.
 */
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { diskFull, diskUse, mountDisk, scratchPaths, unmountDisk } from '../../runner/index.js';

export interface BuildDisks {
  buildDir: string;
  cacheDir: string;
  /** What to tell the pusher when the build failed with a disk full, or undefined. */
  fullNote(): Promise<string | undefined>;
  /** Unmounts both (the build dir's image goes with the scratch dir; the cache's stays for the next build). */
  release(): Promise<void>;
}

const mb = (n: number) => Math.round(n / 2 ** 20);

export async function openBuildDisks(o: { scratch: string; cacheDir: string; buildBytes: number; cacheBytes: number }): Promise<BuildDisks> {
  const buildRoot = scratchPaths(o.scratch).root;
  const cacheImage = `${o.cacheDir}.img`;
  await mountDisk(join(o.scratch, 'disk.img'), buildRoot, o.buildBytes);
  try {
    // A cache of an earlier layout (a plain dir), or a mount a dead worker left: the cache is only a cache.
    await unmountDisk(o.cacheDir);
    const plainDir = await lstat(o.cacheDir).then((s) => s.isDirectory(), () => false);
    const image = await lstat(cacheImage).then((s) => s.isFile() && s.size === o.cacheBytes, () => false);
    if (plainDir && !image) await rm(o.cacheDir, { recursive: true, force: true });
    if (!image) await rm(cacheImage, { force: true });
    await mountDisk(cacheImage, o.cacheDir, o.cacheBytes, { keep: image });
  } catch (e) {
    await unmountDisk(buildRoot);
    throw e;
  }
  let dropCache = false;
  return {
    buildDir: join(buildRoot, 'app'),
    cacheDir: o.cacheDir,
    async fullNote() {
      const [b, c] = [await diskUse(buildRoot), await diskUse(o.cacheDir)];
      if (diskFull(b)) return `The build filled its ${mb(o.buildBytes)} MB disk (SLIPWAY_BUILD_DISK_MB): the app and what the build adds must fit in it.`;
      if (!diskFull(c)) return undefined;
      dropCache = true;
      return `The build filled its ${mb(o.cacheBytes)} MB build cache (SLIPWAY_BUILD_CACHE_MB); the cache is cleared, and the next push builds without it.`;
    },
    async release() {
      if (dropCache) await removeBuildCache(o.cacheDir);
      else await unmountDisk(o.cacheDir);
      await unmountDisk(buildRoot);
    },
  };
}

/** The app's build cache and its image, when the app is destroyed. */
export async function removeBuildCache(cacheDir: string): Promise<void> {
  await unmountDisk(cacheDir);
  await rm(cacheDir, { recursive: true, force: true });
  await rm(`${cacheDir}.img`, { force: true });
}
