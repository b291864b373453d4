/**
 * Slugs unpacked once per digest into DATA/slug-cache/<digest>: the shared, read-only lower dir of every dyno's
 * /app overlay for that slug. Unpacking goes to a temp dir and is renamed into place, so readers never see half.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DYNO_GID, DYNO_UID } from './stack.js';
import { PIGZ } from '../buildpacks/slug.js';

const run = promisify(execFile);
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
  if (await stat(join(dir, '.slipway-unpacked')).then(() => true, () => false)) return dir;
  await mkdir(cacheDir, { recursive: true, mode: 0o711 });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    // Owned by the dyno user, so a dyno may write to /app (overlay copy-up keeps the owner): slugs are packed so,
    // and unpacked with their owners; one packed by an older Slipway (owned by root) is chowned after.
    await run('tar', ['-xf', slugFile, '-C', tmp, '--same-owner', '--numeric-owner', ...(PIGZ ? ['-I', PIGZ] : ['-z'])]);
    if ((await stat(tmp)).uid !== DYNO_UID) await run('chown', ['-R', '--', `${DYNO_UID}:${DYNO_GID}`, tmp]);
    await run('touch', [join(tmp, '.slipway-unpacked')]);
    await rename(tmp, dir).catch(async (e) => {
      if (!(await stat(join(dir, '.slipway-unpacked')).then(() => true, () => false))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
