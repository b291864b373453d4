/**
 * The Heroku buildpack API: bin/detect BUILD_DIR, bin/compile BUILD_DIR CACHE_DIR ENV_DIR, bin/release BUILD_DIR.
 * Built-ins are detected in order nodejs, python, static, procfile; an app may name its own with the
 * buildpack installations, the BUILDPACK_URL config var, app.json's buildpacks or a .buildpacks file, in that order
 * (git URLs, or directories on the host the operator allowed).
 * What the platform reads of the build dir itself (.buildpacks, Procfile) it reads as tenant files (tenant-file.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError } from './errors.js';
import type { BuildExecutor } from '../platform/build-executor.js';
import { parseProcfile, parseReleaseYaml, ProcfileError } from './procfile.js';
import { BUILTIN_ORDER, builtinBuildpacks, hasRelease, resolveBuildpack, type Buildpack } from './resolve.js';
import { readTenantFile } from './tenant-file.js';

export type { BuildExecutor } from '../platform/build-executor.js';
export { SlugTooLargeError, UNPACKED_FACTOR } from './slug.js';
export { parseProcfile, parseReleaseYaml, ProcfileError, PROCESS_TYPE } from './procfile.js';
export { BuildError } from './errors.js';
export { readAppJson, appEnvDefaults, type AppManifest } from './app-json.js';
export { BUILTIN_ORDER, builtinBuildpacks, builtinName, buildpackUrlProblem, displayUrl, type Buildpack } from './resolve.js';
export { readTenantFile, openTenantFile, TenantFileError } from './tenant-file.js';

const WHAT_THEY_LOOK_FOR: Record<(typeof BUILTIN_ORDER)[number], string> = {
  nodejs: 'Node.js (package.json)',
  python: 'Python (requirements.txt, pyproject.toml or setup.py)',
  static: 'Static (index.html or static.json)',
  procfile: 'Procfile (a Procfile alone)',
};

export interface CompileOptions {
  executor: BuildExecutor;
  buildDir: string;
  cacheDir: string;
  envDir: string;
  env: Record<string, string>;
  /** From BUILDPACK_URL; when absent, .buildpacks in the source, else detection. */
  buildpackUrl?: string;
  /** The app's buildpacks (its buildpack installations): when set, used instead of BUILDPACK_URL and .buildpacks. */
  buildpacks?: string[];
  /** app.json's buildpacks: used when the app names none (installations, BUILDPACK_URL), before .buildpacks. */
  appJsonBuildpacks?: string[];
  /** Directories host-path buildpacks may come from (SLIPWAY_BUILDPACK_DIRS). */
  hostBuildpackDirs?: string[];
  log: (line: string) => void;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Where buildpacks cloned from git go: the build's own disk (its size limit holds them too); the host's temp dir without. */
  scratchDir?: string;
}

export interface CompileResult {
  buildpacks: { name: string; url: string }[];
  processTypes: Record<string, string>;
  description: string;
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
  const scratch = await mkdtemp(join(o.scratchDir ?? tmpdir(), 'slipway-bp-'));
  try {
    let chosen: { bp: Buildpack; name: string }[] = [];
    const listed = o.buildpacks?.length
      ? o.buildpacks
      : o.buildpackUrl
      ? [o.buildpackUrl]
      : o.appJsonBuildpacks?.length
      ? o.appJsonBuildpacks
      : ((await readTenantFile(o.buildDir, '.buildpacks', { what: '.buildpacks', maxBytes: 16 * 1024 })) ?? '')
          .split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (listed.length > 10) throw new BuildError(`.buildpacks names ${listed.length} buildpacks; at most 10 are run.`);
    if (listed.length > 0) {
      const context = { executor: o.executor, env: o.env, scratch, hostDirs: o.hostBuildpackDirs ?? [], log: o.log, signal: o.signal };
      for (const url of listed) {
        const bp = await resolveBuildpack(url, chosen.length, context);
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
    if (await hasRelease(last)) {
      const r = await o.executor.run([join(last.dir, 'bin', 'release'), o.buildDir], { cwd: o.buildDir, env: o.env, timeoutMs: 60_000, signal: o.signal, mounts: mountsFor(o, last, chosen.length - 1) });
      if (r.code !== 0) throw new BuildError(`bin/release of ${chosen[chosen.length - 1].name} exited with ${r.code}.`);
      defaults = parseReleaseYaml(r.stdout);
    }
    let procfile: Record<string, string> = {};
    const procfileText = await readTenantFile(o.buildDir, 'Procfile', { what: 'Procfile', maxBytes: 64 * 1024 });
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
