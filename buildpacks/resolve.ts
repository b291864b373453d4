/**
 * Where a buildpack named by URL comes from: a built-in (slipway/NAME, heroku/NAME), a directory on the platform
 * host that the operator allowed (SLIPWAY_BUILDPACK_DIRS; resolved with realpath before the check, and that real
 * path is what the build container mounts), or a git URL cloned inside a build container with the build's network
 * rules. Credentials in a git URL go to git through GIT_ASKPASS in the container's environment: never in argv (the
 * host's `ps`), the build log or the stored buildpack URL.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError } from './errors.js';
import type { BuildExecutor } from '../platform/build-executor.js';
import { shown } from '../platform/shown.js';

export interface Buildpack {
  /** As shown and stored: a git URL without its credentials. */
  url: string;
  dir: string;
}

export interface ResolveContext {
  executor: BuildExecutor;
  env: Record<string, string>;
  /** Where clones go (a dir of this build's). */
  scratch: string;
  /** Directories host-path buildpacks may come from; none: host paths are refused. */
  hostDirs: string[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

export const BUILTIN_ORDER = ['nodejs', 'python', 'static', 'procfile'] as const;

let root: string | undefined;
/** The package's buildpacks/ dir (built-ins and their helpers). */
export function builtinDir(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the slipway package root');
    dir = up;
  }
  return (root = join(dir, 'buildpacks'));
}

export const builtinBuildpacks = (): Buildpack[] => BUILTIN_ORDER.map((name) => ({ url: `slipway/${name}`, dir: join(builtinDir(), name) }));

const GIT_URL = /^(https?|git|ssh):\/\/[^\s]+$/;

/** A git URL split into what git gets in argv and what it gets through GIT_ASKPASS. */
export function splitGitUrl(url: string): { repo: string; ref?: string; username?: string; password?: string } {
  const [withCreds, ref] = url.split('#', 2);
  const u = new URL(withCreds);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  return { repo: u.toString(), ref: ref || undefined, username, password };
}

/** A buildpack URL as it may be shown: credentials replaced. */
export function displayUrl(url: string): string {
  if (!GIT_URL.test(url)) return url;
  try {
    const { repo, ref, username, password } = splitGitUrl(url);
    if (!username && !password) return url;
    const u = new URL(repo);
    u.username = '***';
    return `${u.toString()}${ref ? `#${ref}` : ''}`;
  } catch {
    return '(a git URL that is not valid)';
  }
}

async function hostBuildpack(url: string, hostDirs: string[]): Promise<Buildpack> {
  if (hostDirs.length === 0) {
    throw new BuildError(`Buildpack ${shown(url)}: buildpacks from host paths are off on this platform; use a git URL or slipway/nodejs|python|static|procfile (the operator may allow directories with SLIPWAY_BUILDPACK_DIRS).`);
  }
  // The real path is what is checked and what is mounted: a link on the way cannot lead the mount elsewhere.
  const real = await realpath(url).catch(() => undefined);
  const roots = await Promise.all(hostDirs.map((d) => realpath(d).catch(() => undefined)));
  const inside = real !== undefined && roots.some((r) => r !== undefined && (real === r || real.startsWith(`${r}/`)));
  if (!inside) throw new BuildError(`Buildpack ${shown(url)} is not in a directory the operator allowed for buildpacks (SLIPWAY_BUILDPACK_DIRS).`);
  if (!(await stat(join(real, 'bin', 'compile')).then((s) => s.isFile(), () => false))) throw new BuildError(`Buildpack ${shown(url)} has no bin/compile.`);
  return { url, dir: real };
}

async function gitBuildpack(url: string, index: number, c: ResolveContext): Promise<Buildpack> {
  let parts: ReturnType<typeof splitGitUrl>;
  try {
    parts = splitGitUrl(url);
  } catch {
    throw new BuildError(`Buildpack URL ${shown(displayUrl(url))} is not a valid URL.`);
  }
  const shownUrl = displayUrl(url);
  const dir = await mkdtemp(join(c.scratch, 'bp-'));
  const askpass = join(builtinDir(), 'lib');
  const creds = parts.username !== undefined || parts.password !== undefined;
  const env = {
    ...c.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: '/tmp',
    ...(creds ? { GIT_ASKPASS: join(askpass, 'git-askpass'), SLIPWAY_GIT_USERNAME: parts.username ?? '', SLIPWAY_GIT_PASSWORD: parts.password ?? '' } : {}),
  };
  const said: string[] = [];
  const r = await c.executor.run(['/usr/bin/git', 'clone', '--quiet', '--depth', '1', ...(parts.ref ? ['--branch', parts.ref] : []), '--', parts.repo, dir], {
    cwd: dir, env, network: true, timeoutMs: 120_000, signal: c.signal, onLine: (l) => said.push(l),
    mounts: [
      { source: dir, destination: `/tmp/buildpacks/${index}`, readonly: false, owned: true },
      { source: askpass, destination: '/tmp/buildpacks/lib', readonly: true },
    ],
  });
  if (r.code !== 0) {
    const why = (r.timedOut ? 'timed out' : said.filter((l) => l.trim()).pop() ?? `git exited with ${r.code}`).slice(0, 300);
    throw new BuildError(`Could not fetch buildpack ${shown(shownUrl)}: ${why}`);
  }
  return { url: shownUrl, dir };
}

/**
 * The built-in a name means, or undefined: slipway/NAME, heroku/NAME, and the buildpack registry's
 * urn:buildpack:heroku/NAME (what the Heroku CLI sends for `buildpacks:set heroku/nodejs`).
 */
export function builtinName(url: string): (typeof BUILTIN_ORDER)[number] | undefined {
  const m = /^(?:urn:buildpack:)?(?:slipway|heroku)\/(nodejs|python|static|procfile)$/.exec(url);
  return m ? (m[1] as (typeof BUILTIN_ORDER)[number]) : undefined;
}

/** What is wrong with a buildpack URL as written (before anything is fetched), or undefined. */
export function buildpackUrlProblem(url: string): string | undefined {
  if (url.length > 2000) return 'a buildpack URL is at most 2000 characters';
  if (builtinName(url) || /^(nodejs|python|static|procfile)$/.test(url) || GIT_URL.test(url) || url.startsWith('/')) return undefined;
  return `${displayUrl(url).slice(0, 100)} is not a buildpack (use heroku/nodejs|python|static|procfile, a git URL, or an allowed absolute path)`;
}

/** A buildpack named by URL, ready to mount at /tmp/buildpacks/INDEX. */
export async function resolveBuildpack(url: string, index: number, c: ResolveContext): Promise<Buildpack> {
  const builtin = builtinName(url) ?? /^(nodejs|python|static|procfile)$/.exec(url)?.[1];
  if (builtin) return { url: `slipway/${builtin}`, dir: join(builtinDir(), builtin) };
  if (url.startsWith('/')) return hostBuildpack(url, c.hostDirs);
  if (GIT_URL.test(url)) return gitBuildpack(url, index, c);
  if (/^file:/i.test(url)) throw new BuildError(`Buildpack ${shown(url)}: file:// URLs are not allowed; use a git URL (https, git or ssh) or a directory the operator allowed.`);
  throw new BuildError(`Buildpack URL not understood: ${shown(displayUrl(url))} (use a git URL, an allowed absolute path, or slipway/nodejs|python|static|procfile).`);
}

/** Whether the buildpack has bin/release as a file: checked without following links (a cloned buildpack is the tenant's). */
export async function hasRelease(bp: Buildpack): Promise<boolean> {
  const bin = await lstat(join(bp.dir, 'bin')).catch(() => undefined);
  if (!bin?.isDirectory()) return false;
  return (await lstat(join(bp.dir, 'bin', 'release')).catch(() => undefined))?.isFile() ?? false;
}
