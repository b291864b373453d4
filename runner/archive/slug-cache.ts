/**
 * Archives the platform packed (a slug made before layers, a slug layer) unpacked once per digest and owner into
 * CACHE/<digest>[-u<uid>]: the shared, read-only lower dirs of the /app overlay of dynos. An app's own trees are
 * owned by its uid, so its dynos may write to /app (another app with the same tree gets its own copy); a runtime
 * layer is unpacked once for every app, by the stack's dyno user. Unpacking goes to a temp dir and is renamed into
 * place, so readers never see half.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PIGZ, unpackSlugFile } from './unpack.js';

const DIGEST = /^[0-9a-f]{64}$/;

const unpacking = new Map<string, Promise<string>>();

/** The digest an unpacked archive's dir name holds (undefined for anything else in the cache dir). */
export function unpackedDigest(name: string): string | undefined {
  return /^([0-9a-f]{64})(?:-u\d+)?$/.exec(name)?.[1];
}

/**
 * The dir file (a tar.gz) is unpacked in, owned by owner (the dyno user when none); one unpack per archive and owner
 * at a time in this process (two dynos of a new release start together).
 */
export function unpackedArchive(file: string, digest: string, cacheDir: string, owner?: { uid: number; gid: number }): Promise<string> {
  if (!DIGEST.test(digest)) return Promise.reject(new Error(`not a sha256 hex digest: ${digest}`));
  const key = join(cacheDir, owner ? `${digest}-u${owner.uid}` : digest);
  let p = unpacking.get(key);
  if (!p) {
    p = unpack(file, key, owner).finally(() => unpacking.delete(key));
    unpacking.set(key, p);
  }
  return p;
}

async function unpack(file: string, dir: string, owner?: { uid: number; gid: number }): Promise<string> {
  const cacheDir = dirname(dir);
  // Unpacked trees are renamed into place whole, so one that exists is complete. (No marker file inside it: the
  // tree is the tenant's, and a marker written there as root would follow a link the slug planted by that name.)
  if (await lstat(dir).then((s) => s.isDirectory(), () => false)) return dir;
  await mkdir(cacheDir, { recursive: true, mode: 0o711 });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    // Unpacked by the dyno user, who then owns the tree, so a dyno may write to /app (overlay copy-up keeps the owner).
    await unpackSlugFile(file, tmp, PIGZ, owner);
    await rename(tmp, dir).catch(async (e) => {
      if (!(await lstat(dir).then((s) => s.isDirectory(), () => false))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
