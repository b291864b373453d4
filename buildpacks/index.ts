/**
 * The Heroku buildpack API: bin/detect BUILD_DIR, bin/compile BUILD_DIR CACHE_DIR ENV_DIR, bin/release BUILD_DIR.
 * Built-ins are detected in order nodejs, python, static, procfile; an app may name its own with the
 * BUILDPACK_URL config var or a .buildpacks file (git URLs or local paths on the platform host).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BuildExecutor } from './executor.js';
import { parseProcfile, parseReleaseYaml, ProcfileError } from './procfile.js';

export { createHostExecutor, type BuildExecutor } from './executor.js';
export { packSlug, SlugTooLargeError } from './slug.js';
export { parseProcfile, parseReleaseYaml, ProcfileError, PROCESS_TYPE } from './procfile.js';

const run = promisify(execFile);

function builtinDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the slipway package root');
    dir = up;
  }
  return join(dir, 'buildpacks');
}

export const BUILTIN_ORDER = ['nodejs', 'python', 'static', 'procfile'] as const;
const WHAT_THEY_LOOK_FOR: Record<(typeof BUILTIN_ORDER)[number], string> = {
  nodejs: 'Node.js (package.json)',
  python: 'Python (requirements.txt, pyproject.toml or setup.py)',
  static: 'Static (index.html or static.json)',
  procfile: 'Procfile (a Procfile alone)',
};

export interface Buildpack {
  url: string;
  dir: string;
}

export class BuildError extends Error {}

export interface CompileOptions {
  executor: BuildExecutor;
  buildDir: string;
  cacheDir: string;
  envDir: string;
  env: Record<string, string>;
  /** From BUILDPACK_URL; when absent, .buildpacks in the source, else detection. */
  buildpackUrl?: string;
  log: (line: string) => void;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface CompileResult {
  buildpacks: { name: string; url: string }[];
  processTypes: Record<string, string>;
  description: string;
}

export const builtinBuildpacks = (): Buildpack[] => BUILTIN_ORDER.map((name) => ({ url: `slipway/${name}`, dir: join(builtinDir(), name) }));

/** A buildpack named by URL: slipway/NAME (built-in), an absolute local path, or a git URL (cloned). */
async function resolveBuildpack(url: string, scratch: string): Promise<Buildpack> {
  const builtin = /^(?:slipway|heroku\/)?\/?(nodejs|python|static|procfile)$/.exec(url.replace(/^heroku\//, 'slipway/').replace(/^slipway\//, ''));
  if (builtin) return { url: `slipway/${builtin[1]}`, dir: join(builtinDir(), builtin[1]) };
  if (url.startsWith('/')) {
    if (!(await stat(join(url, 'bin', 'compile')).then((s) => s.isFile(), () => false))) throw new BuildError(`Buildpack ${url} has no bin/compile.`);
    return { url, dir: url };
  }
  if (/^(https?|git|ssh|file):\/\/[^\s]+$/.test(url)) {
    const [repo, ref] = url.split('#', 2);
    const dir = await mkdtemp(join(scratch, 'bp-'));
    const args = ['clone', '--quiet', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', repo, dir];
    try {
      await run('git', args, { timeout: 120_000 });
    } catch (e) {
      throw new BuildError(`Could not fetch buildpack ${url}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').pop()}`);
    }
    await chmod(dir, 0o755); // mkdtemp made it root-only; the build user runs its scripts
    return { url, dir };
  }
  throw new BuildError(`Buildpack URL not understood: ${url.slice(0, 200)} (use a git URL, an absolute path, or slipway/nodejs|python|static|procfile).`);
}

/** Where a container executor puts each dir: Heroku's usual paths. */
function mountsFor(o: CompileOptions, bp: Buildpack, index: number) {
  return [
    { source: o.buildDir, destination: '/tmp/build', readonly: false, owned: true },
    { source: o.cacheDir, destination: '/tmp/cache', readonly: false, owned: true },
    { source: o.envDir, destination: '/tmp/env', readonly: true, owned: true },
    { source: bp.dir, destination: `/tmp/buildpacks/${index}`, readonly: true },
  ];
}

async function detect(o: CompileOptions, bp: Buildpack, index: number): Promise<string | undefined> {
  const r = await o.executor.run([join(bp.dir, 'bin', 'detect'), o.buildDir], { cwd: o.buildDir, env: o.env, timeoutMs: 60_000, signal: o.signal, mounts: mountsFor(o, bp, index) });
  return r.code === 0 ? r.stdout.trim().split('\n')[0] || bp.url : undefined;
}

export async function compileApp(o: CompileOptions): Promise<CompileResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'slipway-bp-'));
  try {
    let chosen: { bp: Buildpack; name: string }[] = [];
    const listed = o.buildpackUrl
      ? [o.buildpackUrl]
      : (await readFile(join(o.buildDir, '.buildpacks'), 'utf8').catch(() => ''))
          .split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (listed.length > 0) {
      for (const url of listed) {
        const bp = await resolveBuildpack(url, scratch);
        chosen.push({ bp, name: (await detect(o, bp, chosen.length)) ?? bp.url });
      }
    } else {
      for (const bp of builtinBuildpacks()) {
        const name = await detect(o, bp, 0);
        if (name) {
          chosen = [{ bp, name }];
          break;
        }
      }
      if (chosen.length === 0) {
        throw new BuildError(`No buildpack detected for this app. Slipway looked for:\n${BUILTIN_ORDER.map((n) => '  - ' + WHAT_THEY_LOOK_FOR[n]).join('\n')}\nOr set BUILDPACK_URL.`);
      }
    }

    for (const [i, { bp, name }] of chosen.entries()) {
      o.log(`-----> ${name} app detected`);
      const r = await o.executor.run([join(bp.dir, 'bin', 'compile'), o.buildDir, o.cacheDir, o.envDir], {
        cwd: o.buildDir, env: o.env, onLine: o.log, timeoutMs: o.timeoutMs, signal: o.signal, mounts: mountsFor(o, bp, i), network: true,
      });
      if (r.timedOut) throw new BuildError(`Build timed out after ${Math.round(o.timeoutMs / 60000)} minutes.`);
      if (r.code !== 0 && r.oomKilled) throw new BuildError('The build ran out of memory and was stopped (SLIPWAY_BUILD_MEMORY_MB raises the limit).');
      if (r.code !== 0) throw new BuildError(`Failed to compile ${name} app (bin/compile exited with ${r.code ?? r.signal}).`);
    }

    const last = chosen[chosen.length - 1].bp;
    let defaults: Record<string, string> = {};
    if (existsSync(join(last.dir, 'bin', 'release'))) {
      const r = await o.executor.run([join(last.dir, 'bin', 'release'), o.buildDir], { cwd: o.buildDir, env: o.env, timeoutMs: 60_000, signal: o.signal, mounts: mountsFor(o, last, chosen.length - 1) });
      if (r.code !== 0) throw new BuildError(`bin/release of ${chosen[chosen.length - 1].name} exited with ${r.code}.`);
      defaults = parseReleaseYaml(r.stdout);
    }
    let procfile: Record<string, string> = {};
    const procfileText = await readFile(join(o.buildDir, 'Procfile'), 'utf8').catch(() => undefined);
    if (procfileText !== undefined) {
      try {
        procfile = parseProcfile(procfileText);
      } catch (e) {
        if (e instanceof ProcfileError) throw new BuildError(e.message);
        throw e;
      }
    }
    const processTypes = { ...defaults, ...procfile };
    return {
      buildpacks: chosen.map(({ bp, name }) => ({ name, url: bp.url })),
      processTypes,
      description: chosen.map((c) => c.name).join(', '),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
