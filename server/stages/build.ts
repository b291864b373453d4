/**
 * Build: source → slug, nothing more. Export the pushed tree (or unpack the uploaded one), run the buildpacks, pack
 * the slug as layers by role (a runtime or dependency tree already stored is not packed again), then hand it to
 * the Release stage. Builds of one app are serialized (a Postgres advisory lock); a build
 * whose worker died is marked failed.
 */
import { buildEgress } from '../builds/build-egress.js';
import type { BuildEgress } from '../../platform/egress.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Job } from 'bullmq';
import type { BuildJob } from '../queue.js';
import { mintContainerName } from '../../platform/container-name.js';
import { promoteDownloads } from '../builds/download-cache.js';
import { openBuildDisks, type BuildDisks } from '../builds/build-disks.js';
import { describeRunStackProblems, type RunStackCheck } from '../../runner/index.js';
import { appEnvDefaults, BuildError, compileApp, readAppJson, type AppManifest, SlugTooLargeError, UNPACKED_FACTOR, type BuildExecutor } from '../../buildpacks/index.js';
import { inspectTar, TarRefused, unpackTar } from '../../runner/index.js';
import type { BuildLog } from '../builds/build-log.js';
import { layerRecordsDir, type BlobStore } from '../images/blobs.js';
import { packSlugLayers, type PackedSlug } from '../images/slug-layers.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { TakeTurn, Turn } from '../db/turn.js';
import type { Logger } from '../log.js';
import type { AppName } from '../names.js';
import type { BuildService } from '../builds/service.js';
import { MAX_CONFIG_BYTES, type ConfigVarService } from '../config-vars/service.js';
import type { ReleaseService } from '../releases/service.js';
import type { App, AppService } from '../apps/service.js';
import type { RepoStore } from '../services/repo-store.js';
import type { SlugService } from '../releases/slugs.js';
import type { Pipeline } from '../queue.js';

export interface BuildStageDeps {
  db: Db;
  /** The app's turn at this stage (db/turn.ts). */
  takeTurn: TakeTurn;
  config: Config;
  apps: AppService;
  builds: BuildService;
  slugs: SlugService;
  configVars: ConfigVarService;
  releases: Pick<ReleaseService, 'current'>;
  repos: RepoStore;
  buildLog: BuildLog;
  executor: BuildExecutor;
  /** Where the slug's layers go (DATA/images/blobs). */
  blobs: BlobStore;
  /** What the build installed, checked against the run stack's libraries (container builds only). */
  runStackCheck?: RunStackCheck;
  pipeline: Pick<Pipeline, 'release'>;
  log: Logger;
}

/**
 * `git archive SHA` unpacked into dir through a TarGuard, by the dyno user (buildpacks/unpack.ts), with no shell
 * between them. During the push the new objects sit in git's quarantine dir (inside the repo's objects dir) until
 * the hook says yes, so read them from there too.
 */
async function exportTree(repoPath: string, sha: string, dir: string, quarantine: string | null, maxBytes: number): Promise<void> {
  const objects = join(repoPath, 'objects');
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  if (quarantine) {
    const q = resolvePath(quarantine);
    if (dirname(q) !== objects || !/^(tmp_objdir-)?incoming-[A-Za-z0-9]+$/.test(basename(q))) throw new BuildError('The push named an object directory outside its repository.');
    env.GIT_OBJECT_DIRECTORY = q;
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = objects;
  }
  let err = '';
  let archive: ChildProcessByStdio<null, Readable, Readable> | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  const start = () => {
    const child = spawn('git', ['--git-dir', repoPath, 'archive', '--format=tar', sha, '--'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stderr.on('data', (d) => (err += d));
    exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    archive = child;
    return child.stdout;
  };
  try {
    await unpackTar(start, dir, { policy: 'source', label: 'The pushed tree', maxBytes });
  } catch (e) {
    archive?.kill('SIGKILL');
    if (e instanceof BuildError || e instanceof TarRefused) throw e;
    throw new BuildError(`Could not export ${sha.slice(0, 7)}: ${err.trim() || (e as Error).message}`);
  }
  const code = await exited;
  if (code !== 0) throw new BuildError(`Could not export ${sha.slice(0, 7)}: ${err.trim() || 'exit ' + code}`);
}

/** An uploaded tarball into dir, checked and unpacked as a pushed tree is; a lone top-level directory is stripped. */
async function extractTarball(file: string, dir: string, maxBytes: number): Promise<void> {
  const o = { policy: 'source' as const, label: 'The uploaded source', maxBytes, gzip: true };
  const notTar = (e: unknown) => {
    if (e instanceof BuildError || e instanceof TarRefused) return e;
    if (String((e as { code?: unknown }).code ?? '').startsWith('Z_')) return new BuildError('The uploaded source is not a .tar.gz archive.');
    return new BuildError(`Could not unpack the uploaded source: ${(e as Error).message}`);
  };
  const seen = await inspectTar(createReadStream(file), o).catch((e) => {
    throw notTar(e);
  });
  const strip = seen.tops.size === 1 && seen.nested ? 1 : 0;
  await unpackTar(() => createReadStream(file), dir, { ...o, strip }).catch((e) => {
    throw notTar(e);
  });
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** A git object id is shown by its first 7 characters, as git and Heroku do; any other source version (a tarball's label) in full. */
export function shortVersion(version: string): string {
  return /^[0-9a-f]{40}$/.test(version) ? version.slice(0, 7) : version;
}

function buildEnv(config: Config, app: AppName, sha: string): Record<string, string> {
  // Builds reach the package registries; trust the machine's CA bundle there (never in dynos: it slows node's start).
  const ca: Record<string, string> = config.buildCaBundle
    ? { NODE_EXTRA_CA_CERTS: config.buildCaBundle, npm_config_cafile: config.buildCaBundle, SSL_CERT_FILE: config.buildCaBundle, PIP_CERT: config.buildCaBundle }
    : {};
  return {
    ...ca,
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    STACK: 'bookworm',
    SOURCE_VERSION: sha,
    SLIPWAY_APP: app,
    NPM_CONFIG_REGISTRY: config.npmRegistry,
    SLIPWAY_DOWNLOAD_CACHE: config.downloadCache,
  };
}

/**
 * The app's config vars for its build; on its first deploy (no release with code yet) app.json's env first: its
 * defaults and made secrets set as config vars, and a required one that is not set fails the build naming it.
 */
async function firstDeployEnv(deps: BuildStageDeps, app: App, manifest: AppManifest, say: (line: string) => Promise<unknown>): Promise<Record<string, string>> {
  const vars = await deps.configVars.get(app);
  if (Object.keys(manifest.env).length === 0 || (await deps.releases.current(app))?.slug_id) return vars;
  const { set, missing } = appEnvDefaults(manifest.env, vars, () => randomBytes(32).toString('hex'));
  if (missing.length) {
    throw new BuildError(`app.json: env requires ${missing.join(', ')}, not set on ${app.name}. Set ${missing.length > 1 ? 'them' : 'it'} with config:set and push again.`);
  }
  const all = { ...vars, ...set };
  const bytes = Object.entries(all).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > MAX_CONFIG_BYTES) throw new BuildError(`app.json: env would make the config vars ${Math.ceil(bytes / 1024)} KB; an app's total at most ${MAX_CONFIG_BYTES / 1024} KB.`);
  if (Object.keys(set).length) {
    await deps.configVars.setDefaults(app, set);
    await say(`-----> Setting config vars from app.json: ${Object.keys(set).join(', ')}`);
  }
  return all;
}

/** The executor for one build: its steps' containers are named for the app and the build, step by step. */
/** The build's steps, each named for the app and build, run as its uid, under its build egress policy. */
function stepsNamed(executor: BuildExecutor, app: string, buildId: string, uid: number, egress: BuildEgress): BuildExecutor {
  let step = 0;
  return { run: (argv, opts) => executor.run(argv, { ...opts, uid, egress, container: { app, release: { build: buildId }, process: 'build', index: ++step } }) };
}

/**
 * The compiled /app checked against the run stack (what the build installed needs libraries it has) and packed as
 * slug layers, side by side: both only read it. A missing library fails the build before a packing error would.
 */
async function checkAndPack(deps: BuildStageDeps, buildDir: string, who: { app: string; buildId: string; uid: number }, say: (line: string) => Promise<unknown>): Promise<PackedSlug> {
  const { config } = deps;
  const [checked, packing] = await Promise.allSettled([
    deps.runStackCheck?.(buildDir, who),
    say('-----> Compressing...').then(() => packSlugLayers({
      appDir: buildDir, blobs: deps.blobs, recordsDir: layerRecordsDir(config.dataDir), maxBytes: config.maxSlugBytes, unpackedMax: config.maxSlugBytes * UNPACKED_FACTOR,
    })),
  ]);
  if (checked.status === 'rejected') throw checked.reason;
  if (checked.value?.length) throw new BuildError(describeRunStackProblems(checked.value));
  if (packing.status === 'rejected') throw packing.reason;
  const packed = packing.value;
  await say(`       Done: ${mb(packed.size)}M (${packed.layers.map((l) => `${l.role} ${mb(l.size)}M${packed.reused.includes(l.role) ? ', unchanged' : ''}`).join('; ')})`);
  return packed;
}

export function createBuildStage(deps: BuildStageDeps) {
  const { config } = deps;
  return async function buildStage(job: Job<BuildJob>): Promise<{ slug?: string }> {
    const buildId = String(job.data.buildId);
    const sourceFile = typeof job.data.sourceFile === 'string' ? job.data.sourceFile : null;
    const quarantine = typeof job.data.quarantine === 'string' ? job.data.quarantine : null;
    const build = await deps.builds.byId(buildId);
    if (!build || build.status !== 'pending') return {};
    const say = (line: string) => deps.buildLog.append(buildId, line);
    const fail = async (message: string) => {
      await deps.builds.fail(buildId, message);
      for (const l of message.split('\n')) await say(` !     ${l}`);
      await deps.buildLog.finish(buildId, { status: 'failed', error: message });
      return {};
    };
    if (!(await deps.builds.start(buildId))) {
      return fail('The worker running this build stopped before it finished. Push again to retry.');
    }

    // One build per app at a time (db/turn.ts).
    let turn: Turn | undefined;
    let scratch: string | undefined;
    let disks: BuildDisks | undefined;
    try {
      turn = await deps.takeTurn(`build:${build.app_id}`);
      const app = await deps.apps.byId(build.app_id);
      if (!app) return fail('The app was destroyed during the build.');
      const sha = build.source_version ?? build.id.slice(0, 8);
      const egress = await buildEgress(app.egress, { npmRegistry: config.npmRegistry, outboundAllow: config.outboundAllow });
      const named = stepsNamed(deps.executor, app.name, buildId, app.uid, egress);
      await mkdir(join(config.dataDir, 'run', 'builds'), { recursive: true, mode: 0o711 });
      scratch = await mkdtemp(join(config.dataDir, 'run', 'builds', `${mintContainerName({ app: app.name, release: { build: buildId }, process: 'build', index: 0 }, 'worker')}-`));
      await mkdir(join(config.dataDir, 'cache', 'apps'), { recursive: true, mode: 0o711 });
      // In build containers (as root) the build dir and the cache are filesystems of their own, of a set size.
      disks = config.buildIsolation === 'container'
        ? await openBuildDisks({ scratch, cacheDir: join(config.dataDir, 'cache', 'apps', app.id), buildBytes: config.buildDiskBytes, cacheBytes: config.buildCacheBytes })
        : undefined;
      const buildDir = disks?.buildDir ?? join(scratch, 'app');
      const envDir = join(scratch, 'env');
      const cacheDir = join(config.dataDir, 'cache', 'apps', app.id);
      await Promise.all([mkdir(buildDir), mkdir(envDir, { mode: 0o700 }), mkdir(cacheDir, { recursive: true }), mkdir(config.downloadCache, { recursive: true })]);

      await say(`-----> Building ${shortVersion(sha)} on the ${app.stack} stack`);
      const unpackedLimit = config.maxPushBytes * UNPACKED_FACTOR;
      if (sourceFile) await extractTarball(sourceFile, buildDir, unpackedLimit);
      else await exportTree(deps.repos.path(app.name), sha, buildDir, quarantine, unpackedLimit);
      const manifest = await readAppJson(buildDir, (l) => void say(l));
      const vars = await firstDeployEnv(deps, app, manifest, say);
      for (const [k, v] of Object.entries(vars)) await writeFile(join(envDir, k), v, { mode: 0o600 });

      const compiled = await compileApp({
        executor: named, buildDir, cacheDir, envDir, env: buildEnv(config, app.name, sha),
        buildpackUrl: vars.BUILDPACK_URL, buildpacks: app.buildpacks, appJsonBuildpacks: manifest.buildpacks, hostBuildpackDirs: config.buildpackDirs, log: (l) => void say(l), timeoutMs: config.buildTimeoutMs,
        scratchDir: dirname(buildDir), // buildpack clones on the build's disk, within its size
      });
      await deps.builds.setBuildpacks(buildId, compiled.buildpacks);
      const types = Object.keys(compiled.processTypes);
      await say(`-----> Discovering process types`);
      await say(`       Procfile declares types -> ${types.length ? types.join(', ') : '(none)'}`);

      const packed = await checkAndPack(deps, buildDir, { app: app.name, buildId, uid: app.uid }, say);
      const slug = await deps.slugs.create(app, {
        digest: packed.digest, size: packed.size, layers: packed.layers, commit: sha, processTypes: compiled.processTypes, buildpack: compiled.description, stack: app.stack,
        healthchecks: manifest.healthchecks, formation: manifest.formation, postdeploy: manifest.postdeploy,
      });
      await deps.builds.setSlug(buildId, slug.id);
      await deps.pipeline.release({ buildId, slugId: slug.id });
      const downloads = await promoteDownloads(cacheDir, config.downloadCache, config.npmRegistry);
      if (downloads.rejected.length) deps.log.warn('downloads not matching the registry were dropped', { app: app.name, files: downloads.rejected.join(',') });
      deps.log.info('build made its slug', { app: app.name, build: buildId, slug: slug.id });
      return { slug: slug.id };
    } catch (e) {
      const known = e instanceof BuildError || e instanceof SlugTooLargeError || e instanceof TarRefused;
      const full = await disks?.fullNote().catch(() => undefined);
      if (!known && !full) deps.log.error('build crashed', { build: buildId, error: (e as Error).stack ?? String(e) });
      const why = known || full ? (e as Error).message : `Internal error during the build: ${(e as Error).message}`;
      return fail(full ? `${why}\n${full}` : why);
    } finally {
      await turn?.end();
      await disks?.release().catch(() => undefined);
      if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
      if (sourceFile) await rm(sourceFile, { force: true }).catch(() => undefined);
    }
  };
}

