/**
 * Layers: a directory tree packed as a tar (sorted, mtime 0, numeric owners: the same tree gives the same bytes)
 * and gzipped, in one pass that counts both digests an image needs: the diff_id (sha256 of the tar) for the image
 * config and the digest (sha256 of the gzip) for the manifest. Each layer is made once per key (a stack, a runtime
 * or dependency tree by its diff_id, a slug made before layers, a set of process types) and found again through its
 * record in DATA/images/layers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { TarGuard, type TarGuardOptions } from '../../runner/index.js';
import { PIGZ, PIGZ_PACK_ARGS } from '../../runner/index.js';
import type { BlobStore, Descriptor } from './blobs.js';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Layer extends Descriptor {
  /** sha256 of the uncompressed tar: the image config's rootfs.diff_ids. */
  diffId: string;
}

function hashing(onEnd: (hex: string, size: number) => void): Transform {
  const h = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      onEnd(h.digest('hex'), size);
      cb();
    },
  });
}

export interface PackOptions {
  /** Owns every entry in the archive. */
  owner?: { uid: number; gid: number };
  /** Paths relative to dir left out. */
  exclude?: string[];
  /** Entries are put under this directory of the image (dir's `./x` becomes `./UNDER/x`). */
  under?: string;
  /** A tenant's tree: checked entry by entry as a slug is (no devices or FIFOs, nothing written through a link). */
  guard?: TarGuardOptions;
}

/** tar of names under dir as a layer holds them: sorted, mtime 0, numeric owners, so a tree gives the same bytes. */
function spawnTar(dir: string, names: string[], o: PackOptions) {
  const ids = o.owner ? [`--owner=${o.owner.uid}`, `--group=${o.owner.gid}`] : [];
  const skip = (o.exclude ?? []).map((p) => `--exclude=./${p}`);
  // S: a symbolic link's target is the tenant's and is left as it is; names and hard links move under UNDER.
  const move = o.under ? [`--transform=s,^\\.,./${o.under},S`] : [];
  const tar = spawn('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '--anchored', '--no-wildcards', ...ids, ...skip, ...move, '-cf', '-', '-C', dir, '--', ...names.map((n) => (n === '.' ? n : `./${n}`))], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d) => (err.length < 4000 ? (err += d) : undefined));
  const exited = new Promise<void>((resolve, reject) => tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar failed packing a layer: ${err.trim() || 'exit ' + code}`)))));
  exited.catch(() => undefined); // awaited by the caller; a pipeline error may come first
  return { tar, exited };
}

/**
 * The diff_id the layer of names would have, without packing it (tar is fast, gzip is not): how a runtime or
 * dependency tree another image already has is found. Also whether others may read all of it.
 */
export async function layerDiffId(dir: string, names: string[], o: PackOptions & { guard: TarGuardOptions }): Promise<{ diffId: string; othersCanRead: boolean }> {
  const { tar, exited } = spawnTar(dir, names, o);
  const guard = new TarGuard({ ...o.guard, under: o.under });
  let diffId = '';
  try {
    await pipeline(tar.stdout, guard, hashing((hex) => (diffId = `sha256:${hex}`)), new Writable({ write: (_c, _e, cb) => cb() }));
    await exited;
  } catch (e) {
    tar.kill('SIGKILL');
    throw e;
  }
  return { diffId, othersCanRead: guard.othersCanRead };
}

/**
 * Packs names (relative to dir) into a layer blob: tar → (guard) → diff_id counted → gzip (pigz on every core,
 * its thread count fixed so the bytes are the same on any machine) → digest counted on the way to the store.
 */
export async function packLayer(blobs: BlobStore, dir: string, names: string[], o: PackOptions = {}): Promise<Layer> {
  // Before tar starts: its output is read from the moment it exists (an await between the two lost a whole layer).
  const tmp = await blobs.tempPath();
  const { tar, exited } = spawnTar(dir, names, o);
  const gz = PIGZ ? spawn(PIGZ, PIGZ_PACK_ARGS, { stdio: ['pipe', 'pipe', 'ignore'] }) : undefined;
  let diffId = '';
  let digest = '';
  let size = 0;
  let tarBytes = 0;
  const counted = [o.guard ? new TarGuard({ ...o.guard, under: o.under }) : new PassThrough(), hashing((hex, n) => ((diffId = `sha256:${hex}`), (tarBytes = n)))] as const;
  const stored = [hashing((hex, n) => ((digest = `sha256:${hex}`), (size = n))), createWriteStream(tmp, { mode: 0o600 })] as const;
  try {
    if (gz) await Promise.all([pipeline(tar.stdout, ...counted, gz.stdin!), pipeline(gz.stdout!, ...stored)]);
    else await pipeline(tar.stdout, ...counted, createGzip({ level: constants.Z_BEST_SPEED }), ...stored);
    await exited;
    if (tarBytes === 0) throw new Error('tar gave nothing for a layer'); // a tar has at least its end blocks
    await blobs.adopt(tmp, digest);
  } catch (e) {
    tar.kill('SIGKILL');
    gz?.kill('SIGKILL');
    await rm(tmp, { force: true });
    throw e;
  }
  return { mediaType: LAYER_MEDIA_TYPE, digest, size, diffId };
}

const recordFile = (recordsDir: string, key: string): string => {
  if (!/^[a-z0-9][a-z0-9._-]{0,120}$/.test(key)) throw new Error(`bad layer key: ${key}`);
  return join(recordsDir, `${key}.json`);
};

/**
 * The layer recorded under key if its blob is still there (touched: in use again, so garbage collection spares it
 * for an hour); null if the record says there is no such layer; undefined if it has to be made.
 */
export async function cachedLayerIfKnown(blobs: BlobStore, recordsDir: string, key: string): Promise<Layer | null | undefined> {
  const known = await readFile(recordFile(recordsDir, key), 'utf8').then((t) => JSON.parse(t) as Layer | null, () => undefined);
  if (known === null) return null;
  if (!known || (await blobs.size(known.digest)) !== known.size) return undefined;
  await blobs.touch(known.digest);
  return known;
}

export async function recordLayer(recordsDir: string, key: string, layer: Layer | null): Promise<void> {
  const file = recordFile(recordsDir, key);
  await mkdir(recordsDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(layer), { mode: 0o600 });
  await rename(tmp, file);
}

/** The layer recorded under key, made by make() the first time (and again if its blob went missing). */
export async function cachedLayer(blobs: BlobStore, recordsDir: string, key: string, make: () => Promise<Layer>): Promise<Layer> {
  const known = await cachedLayerIfKnown(blobs, recordsDir, key);
  if (known) return known;
  const layer = await make();
  await recordLayer(recordsDir, key, layer);
  return layer;
}
