/**
 * Slugs unpacked once per digest into DATA/slug-cache/<digest>: the shared, read-only lower dir of every dyno's
 * /app overlay for that slug. Unpacking goes to a temp dir and is renamed into place, so readers never see half.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DYNO_GID, DYNO_UID } from './stack.js';

const run = promisify(execFile);
const DIGEST = /^[0-9a-f]{64}$/;

export async function unpackedSlug(slugFile: string, digest: string, cacheDir: string): Promise<string> {
  if (!DIGEST.test(digest)) throw new Error(`not a slug digest: ${digest}`);
  const dir = join(cacheDir, digest);
  if (await stat(join(dir, '.slipway-unpacked')).then(() => true, () => false)) return dir;
  await mkdir(cacheDir, { recursive: true, mode: 0o711 });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { mode: 0o755 });
  try {
    await run('tar', ['-xzf', slugFile, '-C', tmp, '--no-same-owner']);
    // Owned by the dyno user, so a dyno may write to /app (overlay copy-up keeps the owner).
    await run('chown', ['-R', '--', `${DYNO_UID}:${DYNO_GID}`, tmp]);
    await run('touch', [join(tmp, '.slipway-unpacked')]);
    await rename(tmp, dir).catch(async (e) => {
      if (!(await stat(join(dir, '.slipway-unpacked')).then(() => true, () => false))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
