/** The slug: the compiled /app as a tar.gz, content-addressed by its sha256. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants } from 'node:zlib';
import { DYNO_GID, DYNO_UID } from '../runner/stack.js';
import { PIGZ, PIGZ_PACK_ARGS } from '../runner/unpack.js';
import { TarGuard } from '../runner/tar-guard.js';

export class SlugTooLargeError extends Error {}


/** How much larger than its compressed limit a slug may unpack to (a highly compressible tree is refused). */
export const UNPACKED_FACTOR = 8;

/**
 * Packs dir into slugsDir/<sha256>.tar.gz in one pass: tar (sorted, fixed mtime and owner, so equal trees give
 * equal digests) → a TarGuard (the build dir is the tenant's: no FIFOs or devices, nothing written through a link
 * of its own, when the slug is unpacked) → gzip (fast level: slugs are unpacked once per release, and speed
 * matters more than bytes) → hash and size counted on the way to disk; over maxBytes stops the build.
 */
export async function packSlug(dir: string, slugsDir: string, maxBytes: number): Promise<{ digest: string; size: number; path: string }> {
  await mkdir(slugsDir, { recursive: true, mode: 0o700 });
  const tmp = join(slugsDir, `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tar.gz`);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) return cb(new SlugTooLargeError(`The slug is over the ${(maxBytes / 1024 / 1024).toFixed(0)} MB limit.`));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // Owned by the dyno user in the archive, so the agent unpacks it as it is (no chown of every file).
  const owner = [`--owner=${DYNO_UID}`, `--group=${DYNO_GID}`];
  const tar = spawn('tar', ['--sort=name', '--mtime=@0', ...owner, '--numeric-owner', '-cf', '-', '-C', dir, '--', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => tar.on('close', r));
  const gz = PIGZ ? spawn(PIGZ, PIGZ_PACK_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] }) : undefined;
  let gzErr = '';
  gz?.stderr!.on('data', (d) => (gzErr += d));
  const gzExited = gz ? new Promise<number | null>((r) => gz.on('close', r)) : Promise.resolve(0);
  const guard = new TarGuard({ policy: 'slug', label: 'The slug', maxBytes: maxBytes * UNPACKED_FACTOR });
  try {
    if (gz) {
      await Promise.all([pipeline(tar.stdout, guard, gz.stdin!), pipeline(gz.stdout!, count, createWriteStream(tmp, { mode: 0o600 }))]);
    } else {
      await pipeline(tar.stdout, guard, createGzip({ level: constants.Z_BEST_SPEED }), count, createWriteStream(tmp, { mode: 0o600 }));
    }
    const code = await exited;
    if (code !== 0) throw new Error(`tar failed packing the slug: ${err.trim() || 'exit ' + code}`);
    const gzCode = await gzExited;
    if (gzCode !== 0) throw new Error(`pigz failed packing the slug: ${gzErr.trim() || 'exit ' + gzCode}`);
    const digest = hash.digest('hex');
    const path = join(slugsDir, `${digest}.tar.gz`);
    await rename(tmp, path);
    return { digest, size, path };
  } catch (e) {
    tar.kill('SIGKILL');
    gz?.kill('SIGKILL');
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}
