/**
 * The blobs of release images (layers, image configs, manifests), content-addressed and stored once per data dir
 * in DATA/images/blobs/sha256/HEX, as an OCI image layout keeps them. A blob is written to a temp file and renamed
 * into place, so a reader never sees half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export const isDigest = (d: string): boolean => DIGEST.test(d);
export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export function createBlobStore(dir: string) {
  const root = join(dir, 'sha256');
  const path = (digest: string): string => {
    const m = DIGEST.exec(digest);
    if (!m) throw new Error(`not a sha256 digest: ${digest.slice(0, 80)}`);
    return join(root, m[1]);
  };
  return {
    path,
    /** A temp file beside the blobs, to be renamed into place by adopt(). */
    async tempPath(): Promise<string> {
      await mkdir(root, { recursive: true, mode: 0o700 });
      return join(root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    },
    async adopt(tmp: string, digest: string): Promise<void> {
      await rename(tmp, path(digest)).catch(async (e) => {
        await rm(tmp, { force: true });
        throw e;
      });
    },
    /** The blob's size, or undefined when it is not stored. */
    async size(digest: string): Promise<number | undefined> {
      return (await stat(path(digest)).catch(() => undefined))?.size;
    },
    async touch(digest: string): Promise<void> {
      const now = new Date();
      await utimes(path(digest), now, now).catch(() => undefined);
    },
    /**
     * Removes every blob not in keep and not written or touched since `since` (one being made or reused now is
     * spared); the bytes freed.
     */
    async removeAllBut(keep: Set<string>, since: Date): Promise<number> {
      let freed = 0;
      for (const name of await readdir(root).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{64}$/.test(name) || keep.has(`sha256:${name}`)) continue;
        const s = await stat(join(root, name)).catch(() => undefined);
        if (!s || s.mtime >= since) continue;
        await rm(join(root, name), { force: true });
        freed += s.size;
      }
      return freed;
    },
    async putBytes(bytes: Buffer, mediaType: string): Promise<Descriptor> {
      const digest = sha256(bytes);
      if ((await this.size(digest)) === undefined) {
        const tmp = await this.tempPath();
        await writeFile(tmp, bytes, { mode: 0o600 });
        await this.adopt(tmp, digest);
      } else {
        await this.touch(digest);
      }
      return { mediaType, digest, size: bytes.length };
    },
  };
}

export type BlobStore = ReturnType<typeof createBlobStore>;

/** The data dir's blob store (DATA/images/blobs) and the records of the layers made (DATA/images/layers). */
export const dataBlobStore = (dataDir: string): BlobStore => createBlobStore(join(dataDir, 'images', 'blobs'));
export const layerRecordsDir = (dataDir: string): string => join(dataDir, 'images', 'layers');
