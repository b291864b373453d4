/**
 * Slugs unpacked once per digest and owner into DATA/slug-cache/<digest>-u<uid>: the shared, read-only lower dir of
 * the /app overlay of every dyno of that app with that slug (the owner is the app's uid, so its dynos may write to
 * /app; another app with the same slug gets its own copy). Unpacking goes to a temp dir and is renamed into place, so readers never see half.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PIGZ, unpackSlugFile } from './unpack.js';

const DIGEST = /^[0-9a-f]{64}$/;

const unpacking = new Map<string, Promise<string>>();

/** The digest an unpacked slug's dir name holds (undefined for anything else in the cache dir). */
export function unpackedDigest(name: string): string | undefined {
  return /^([0-9a-f]{64})(?:-u\d+)?$/.exec(name)?.[1];
}

/** One unpack per slug and owner at a time in this process (two dynos of a new release start together). */
export function unpackedSlug(slugFile: string, digest: string, cacheDir: string, owner?: { uid: number; gid: number }): Promise<string> {
  if (!DIGEST.test(digest)) return Promise.reject(new Error(`not a slug digest: ${digest}`));
  const key = join(cacheDir, owner ? `${digest}-u${owner.uid}` : digest);
  let p = unpacking.get(key);
  if (!p) {
    p = unpack(slugFile, key, owner).finally(() => unpacking.delete(key));
    unpacking.set(key, p);
  }
  return p;
}

async function unpack(slugFile: string, dir: string, owner?: { uid: number; gid: number }): Promise<string> {
  const cacheDir = dirname(dir);
  // Unpacked trees are renamed into place whole, so one that exists is complete. (No marker file inside it: the
  // tree is the tenant's, and a marker written there as root would follow a link the slug planted by that name.)
  if (await lstat(dir).then((s) => s.isDirectory(), () => false)) return dir;
  await mkdir(cacheDir, { recursive: true, mode: 0o711 });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    // Unpacked by the dyno user, who then owns the tree, so a dyno may write to /app (overlay copy-up keeps the owner).
    await unpackSlugFile(slugFile, tmp, PIGZ, owner);
    await rename(tmp, dir).catch(async (e) => {
      if (!(await lstat(dir).then((s) => s.isDirectory(), () => false))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
