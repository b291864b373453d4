/**
 * A dyno's /app, on the host: the lower dirs of its overlay for a slug. A slug made as layers has each layer
 * unpacked once in DATA/layer-cache (the runtime once for every app on it, owned by the stack's dyno user and read
 * by all; the dependencies and the app per app uid, so its dynos may write to them), stacked app over dependencies
 * over runtime. A slug made before layers is its one file unpacked in DATA/slug-cache, as it always was.
 */
import { join } from 'node:path';
import { unpackedArchive } from '../../runner/index.js';
import { dataBlobStore } from './blobs.js';
import type { SlugLayer } from './slug-layers.js';

export type SlugLowers = (digest: string, owner: { uid: number; gid: number }) => Promise<string>;

export const layerCacheDir = (dataDir: string) => join(dataDir, 'layer-cache');
export const slugCacheDir = (dataDir: string) => join(dataDir, 'slug-cache');

export function createSlugLowers(o: { dataDir: string; layersOf: (digest: string) => Promise<SlugLayer[] | null | undefined> }): SlugLowers {
  const blobs = dataBlobStore(o.dataDir);
  return async (digest, owner) => {
    const layers = await o.layersOf(digest);
    if (layers === undefined) throw new Error(`no slug has the digest ${digest}`);
    if (layers === null) return unpackedArchive(join(o.dataDir, 'slugs', `${digest}.tar.gz`), digest, slugCacheDir(o.dataDir), owner);
    const dirs = await Promise.all(layers.map((l) => unpackedArchive(blobs.path(l.digest), l.digest.slice('sha256:'.length), layerCacheDir(o.dataDir), l.role === 'runtime' ? undefined : owner)));
    // Each layer holds ./app/...; overlay's lowerdir lists the top first.
    return dirs.map((d) => join(d, 'app')).reverse().join(':');
  };
}
