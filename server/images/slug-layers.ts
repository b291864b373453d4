/**
 * A slug as layers by role: a build's /app split into the runtime (`.heroku`: node or python with its tools, the
 * same bytes for every app on that version), the dependencies (`node_modules`: the same while the lockfile and the
 * runtime are) and the app (everything else). Each is a content-addressed layer blob (blobs.ts) under `./app` of
 * the image; a runtime or dependency tree the store already has (found by its diff_id, the hash of the very tar it
 * would be, never by a name the tenant's build could have written) is not gzipped again, so a push that changes only
 * code packs only the app.
 * The buildpacks know nothing of this: they compile into one BUILD_DIR and the platform splits it after.
 */
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { SlugTooLargeError } from '../../buildpacks/slug.js';
import { DYNO_GID, DYNO_UID } from '../../runner/index.js';
import type { TarGuardOptions } from '../../runner/index.js';
import type { BlobStore } from './blobs.js';
import { cachedLayer, layerDiffId, packLayer, type Layer } from './layers.js';

export type LayerRole = 'runtime' | 'dependencies' | 'app';

export interface SlugLayer extends Layer {
  role: LayerRole;
}

/** The directories of /app that are layers of their own, lowest first; the app layer is what is left. */
export const ROLE_DIRS: { role: Exclude<LayerRole, 'app'>; dir: string }[] = [
  { role: 'runtime', dir: '.heroku' },
  { role: 'dependencies', dir: 'node_modules' },
];

/** Every role, lowest layer first. */
export const LAYER_ROLES: LayerRole[] = [...ROLE_DIRS.map((r) => r.role), 'app'];

export interface PackedSlug {
  layers: SlugLayer[];
  /** The slug's digest: of its layers' roles and digests (hex). */
  digest: string;
  /** The layers' compressed bytes together. */
  size: number;
  /** The roles whose layer was already stored (not packed by this build). */
  reused: LayerRole[];
}

const DYNO = { uid: DYNO_UID, gid: DYNO_GID };

/** The digest of a slug made of these layers. */
export function slugDigest(layers: { role: string; digest: string }[]): string {
  return createHash('sha256').update(JSON.stringify(layers.map((l) => [l.role, l.digest]))).digest('hex');
}

const tooLarge = (maxBytes: number) => new SlugTooLargeError(`The slug is over the ${(maxBytes / 1024 / 1024).toFixed(0)} MB limit.`);

/**
 * Packs appDir (a compiled /app) as slug layers. The runtime is shared read-only by every app using it (unpacked
 * once per machine), so it is a layer of its own only when others may read all of it; else it stays in the app
 * layer. maxBytes bounds the layers' compressed bytes together, unpackedMax what they hold.
 */
export async function packSlugLayers(o: { appDir: string; blobs: BlobStore; recordsDir: string; maxBytes: number; unpackedMax: number }): Promise<PackedSlug> {
  const guard: TarGuardOptions = { policy: 'slug', label: 'The slug', maxBytes: o.unpackedMax };
  const layers: SlugLayer[] = [];
  const reused: LayerRole[] = [];
  const split: string[] = [];
  for (const { role, dir } of ROLE_DIRS) {
    const s = await lstat(join(o.appDir, dir)).catch(() => undefined);
    if (!s?.isDirectory()) continue; // absent, or a link: part of the app layer
    const pack = { owner: DYNO, under: 'app', guard };
    const tree = await layerDiffId(o.appDir, [dir], pack);
    if (role === 'runtime' && !tree.othersCanRead) continue;
    let packed = false;
    const layer = await cachedLayer(o.blobs, o.recordsDir, `${role}-${tree.diffId.slice('sha256:'.length)}`, () => {
      packed = true;
      return packLayer(o.blobs, o.appDir, [dir], pack);
    });
    if (!packed) reused.push(role);
    layers.push({ ...layer, role });
    split.push(dir);
  }
  const app = await packLayer(o.blobs, o.appDir, ['.'], { owner: DYNO, under: 'app', exclude: split, guard });
  layers.push({ ...app, role: 'app' });
  const size = layers.reduce((n, l) => n + l.size, 0);
  if (size > o.maxBytes) throw tooLarge(o.maxBytes);
  return { layers, digest: slugDigest(layers), size, reused };
}
