/** The slug: the compiled /app as a tar.gz, content-addressed by its sha256. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class SlugTooLargeError extends Error {}

/** Packs dir into slugsDir/<sha256>.tar.gz (owner-independent, sorted, fixed mtime so equal trees give equal digests). */
export async function packSlug(dir: string, slugsDir: string, maxBytes: number): Promise<{ digest: string; size: number; path: string }> {
  await mkdir(slugsDir, { recursive: true, mode: 0o700 });
  const tmp = join(slugsDir, `.tmp-${process.pid}-${Date.now()}.tar.gz`);
  try {
    await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-czf', tmp, '-C', dir, '--', '.'], { maxBuffer: 1 << 20 });
    const size = (await stat(tmp)).size;
    if (size > maxBytes) throw new SlugTooLargeError(`The slug is ${(size / 1024 / 1024).toFixed(1)} MB, over the ${(maxBytes / 1024 / 1024).toFixed(0)} MB limit.`);
    const digest = await sha256File(tmp);
    const path = join(slugsDir, `${digest}.tar.gz`);
    await rename(tmp, path);
    return { digest, size, path };
  } finally {
    await rm(tmp, { force: true });
  }
}
