/**
 * Layers: a directory tree packed as a tar (sorted, mtime 0, numeric owners: the same tree gives the same bytes)
 * and gzipped, in one pass that counts both digests an image needs: the diff_id (sha256 of the tar) for the image
 * config and the digest (sha256 of the gzip) for the manifest. Each layer is made once per key (a stack, a slug,
 * a set of process types) and found again through its record in DATA/images/layers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
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

/**
 * Packs names (relative to dir) into a layer blob, leaving out the paths in exclude (relative to dir too); owner,
 * when given, owns every entry in the archive.
 */
export async function packLayer(blobs: BlobStore, dir: string, names: string[], owner?: { uid: number; gid: number }, exclude: string[] = []): Promise<Layer> {
  // Before tar starts: its output is read from the moment it exists (an await between the two lost a whole layer).
  const tmp = await blobs.tempPath();
  const ids = owner ? [`--owner=${owner.uid}`, `--group=${owner.gid}`] : [];
  const skip = exclude.map((p) => `--exclude=./${p}`);
  const tar = spawn('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '--anchored', '--no-wildcards', ...ids, ...skip, '-cf', '-', '-C', dir, '--', ...names.map((n) => (n === '.' ? n : `./${n}`))], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d) => (err.length < 4000 ? (err += d) : undefined));
  const exited = new Promise<number | null>((r) => tar.on('close', r));
  let diffId = '';
  let digest = '';
  let size = 0;
  let tarBytes = 0;
  try {
    await pipeline(tar.stdout, hashing((hex, n) => ((diffId = `sha256:${hex}`), (tarBytes = n))), createGzip({ level: constants.Z_BEST_SPEED }),
      hashing((hex, n) => ((digest = `sha256:${hex}`), (size = n))), createWriteStream(tmp, { mode: 0o600 }));
    const code = await exited;
    if (code !== 0) throw new Error(`tar failed packing a layer: ${err.trim() || 'exit ' + code}`);
    if (tarBytes === 0) throw new Error('tar gave nothing for a layer'); // a tar has at least its end blocks
    await blobs.adopt(tmp, digest);
  } catch (e) {
    tar.kill('SIGKILL');
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

/**
 * A hash of a tree as a layer would hold it: every entry's path, type and mode, a file's size and bytes, a link's
 * target, in name order (never following links). Equal hashes, equal layers: a runtime or dependency tree another
 * image already has is found by it without packing it again.
 */
export async function treeHash(root: string): Promise<string> {
  const h = createHash('sha256');
  async function walk(rel: string): Promise<void> {
    const path = join(root, rel);
    const s = await lstat(path);
    h.update(`${rel}\0${s.mode}\0${s.isDirectory() ? '' : s.size}\0`); // a directory's size is the filesystem's, not the tree's
    if (s.isSymbolicLink()) h.update(`${await readlink(path)}\0`);
    else if (s.isFile()) for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
    else if (s.isDirectory()) for (const name of (await readdir(path)).sort()) await walk(rel ? `${rel}/${name}` : name);
  }
  await walk('');
  return h.digest('hex');
}
