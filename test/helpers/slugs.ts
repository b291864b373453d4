/**
 * What a slug holds, read from what the platform stored: a slug made as layers (the API lists them) from its layer
 * blobs, one made before layers from its file. Paths as `tar -t` gives them for /app: `./Procfile`, `./.heroku/…`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DYNO_GID, DYNO_UID } from '../../runner/sandbox/stack.js';

const run = promisify(execFile);

export interface SlugBody {
  checksum: string;
  layers: { role: string; digest: string; size: number }[] | null;
}

const blobFile = (dataDir: string, digest: string) => join(dataDir, 'images', 'blobs', 'sha256', digest.slice('sha256:'.length));
const slugFile = (dataDir: string, slug: SlugBody) => join(dataDir, 'slugs', `${slug.checksum.slice('SHA256:'.length)}.tar.gz`);
const list = async (file: string) => (await run('tar', ['-tzf', file], { maxBuffer: 64 << 20 })).stdout.split('\n').filter(Boolean);

/** Every path of the slug's /app (a layer's ./app/x as ./x). */
export async function slugEntries(dataDir: string, slug: SlugBody): Promise<string[]> {
  if (!slug.layers) return list(slugFile(dataDir, slug));
  const all = new Set<string>();
  for (const l of slug.layers) for (const e of await list(blobFile(dataDir, l.digest))) all.add(e.replace(/^\.\/app(\/|$)/, './'));
  return [...all];
}

/** The bytes of one file of the slug's /app (path as `./x`). */
export async function slugFileBytes(dataDir: string, slug: SlugBody, path: string): Promise<Buffer> {
  const files = slug.layers ? slug.layers.map((l) => ({ file: blobFile(dataDir, l.digest), name: path.replace(/^\.\//, './app/') })) : [{ file: slugFile(dataDir, slug), name: path }];
  for (const f of files.reverse()) {
    if (!(await list(f.file)).includes(f.name)) continue;
    return (await run('tar', ['-xzOf', f.file, f.name], { maxBuffer: 256 << 20, encoding: 'buffer' })).stdout;
  }
  throw new Error(`the slug has no ${path}`);
}

/**
 * dir packed as a slug was before layers: one tar.gz (sorted, mtime 0, owned by the dyno user) in slugsDir named by
 * its sha256; its digest.
 */
export async function packSlugFile(dir: string, slugsDir: string): Promise<string> {
  await mkdir(slugsDir, { recursive: true });
  const tmp = join(slugsDir, `.tmp-${process.pid}-${Date.now()}.tar.gz`);
  await run('tar', ['--sort=name', '--mtime=@0', `--owner=${DYNO_UID}`, `--group=${DYNO_GID}`, '--numeric-owner', '-czf', tmp, '-C', dir, '--', '.']);
  const digest = createHash('sha256').update(await readFile(tmp)).digest('hex');
  await rename(tmp, join(slugsDir, `${digest}.tar.gz`));
  return digest;
}
