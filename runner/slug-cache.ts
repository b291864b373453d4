/**
 * Slugs unpacked once per digest into DATA/slug-cache/<digest>: the shared, read-only lower dir of every dyno's
 * /app overlay for that slug. Unpacking goes to a temp dir and is renamed into place, so readers never see half.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PIGZ, unpackSlugFile } from './unpack.js';

const DIGEST = /^[0-9a-f]{64}$/;

const unpacking = new Map<string, Promise<string>>();

/** One unpack per slug at a time in this process (two dynos of a new release start together). */
export function unpackedSlug(slugFile: string, digest: string, cacheDir: string): Promise<string> {
  if (!DIGEST.test(digest)) return Promise.reject(new Error(`not a slug digest: ${digest}`));
  const key = join(cacheDir, digest);
  let p = unpacking.get(key);
  if (!p) {
    p = unpack(slugFile, digest, cacheDir).finally(() => unpacking.delete(key));
    unpacking.set(key, p);
  }
  return p;
}

async function unpack(slugFile: string, digest: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, digest);
  // Unpacked trees are renamed into place whole, so one that exists is complete. (No marker file inside it: the
  // tree is the tenant's, and a marker written there as root would follow a link the slug planted by that name.)
  if (await lstat(dir).then((s) => s.isDirectory(), () => false)) return dir;
  await mkdir(cacheDir, { recursive: true, mode: 0o711 });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    // Unpacked by the dyno user, who then owns the tree, so a dyno may write to /app (overlay copy-up keeps the owner).
    await unpackSlugFile(slugFile, tmp, PIGZ);
    await rename(tmp, dir).catch(async (e) => {
      if (!(await lstat(dir).then((s) => s.isDirectory(), () => false))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
