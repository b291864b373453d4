/**
 * Release: the release row and its release phase. A build's slug becomes release vN+1 with the app's config vars and
 * the slug's process types (a config change or a rollback made its release already). When the Procfile has a
 * `release` process, it runs once in a one-off container of the slug, its output streamed; if it fails, the release
 * is kept as failed and the current one stays. Then the Deploy stage takes it.
 */
import type { Job } from 'bullmq';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { TakeTurn, Turn } from '../db/turn.js';
import type { Logger } from '../log.js';
import type { Pipeline, ReleaseJob } from '../queue.js';
import type { AppService } from '../apps/service.js';
import type { AddonStore } from '../addons/store.js';
import type { BuildService } from '../builds/service.js';
import type { ConfigVarService } from '../config-vars/service.js';
import type { Release, ReleaseService } from '../releases/service.js';
import type { SlugService } from '../releases/slugs.js';
import { shortVersion } from './build.js';
import type { EgressPolicy } from '../../platform/egress.js';
import type { AddonEndpoint } from '../../runner/index.js';
import { stageOutput, type StageLogs, type StageOutput } from './output.js';

/**
 * Runs a command once in a one-off container of the slug (the Procfile's `release` command, app.json's postdeploy);
 * absent without isolation.
 */
export type SlugCommand = (input: {
  app: string; version: number; digest: string; command: string; config: Record<string, string>; log: (line: string) => void;
  /** Its dyno name ($DYNO): release.1 unless said. */
  dyno?: string;
  /** The app's uid and egress policy: the release phase runs as its dynos do. */
  uid: number; egress: EgressPolicy;
  /** The add-on servers the app is attached to: migrations reach its database. */
  addons: AddonEndpoint[];
}) => Promise<{ code: number | null; timedOut: boolean }>;

export interface ReleaseStageDeps {
  db: Db;
  /** The app's turn at this stage (db/turn.ts). */
  takeTurn: TakeTurn;
  config: Config;
  apps: AppService;
  builds: BuildService;
  slugs: SlugService;
  releases: ReleaseService;
  configVars: ConfigVarService;
  addonStore: Pick<AddonStore, 'endpointsOf'>;
  stageLogs: StageLogs;
  pipeline: Pick<Pipeline, 'deploy'>;
  releasePhase?: SlugCommand;
  log: Logger;
}

/** A build's slug as release vN+1, with the app's config vars now. */
async function releaseOfBuild(deps: ReleaseStageDeps, buildId: string, slugId: string): Promise<Release | undefined> {
  const build = await deps.builds.byId(buildId);
  const slug = await deps.slugs.byId(slugId);
  const app = build && (await deps.apps.byId(build.app_id));
  if (!build || !slug || !app) return undefined;
  return deps.releases.create(app, {
    slugId, config: await deps.configVars.get(app), processTypes: slug.process_types,
    description: `Deploy ${shortVersion(build.source_version ?? build.id.slice(0, 8))}`, userId: build.user_id,
  });
}

/** The release phase, when the release has one: undefined when it passed (or there is none), else why not. */
async function runReleasePhase(deps: ReleaseStageDeps, release: Release, out: StageOutput): Promise<string | undefined> {
  const command = release.process_types.release;
  const slug = release.slug_id ? await deps.slugs.byId(release.slug_id) : undefined;
  if (!command || !slug) return undefined;
  await out.say('-----> Running release command...');
  if (!deps.releasePhase) return 'The release phase needs build isolation (SLIPWAY_BUILD_ISOLATION=container, as root).';
  const app = await deps.apps.byId(release.app_id);
  if (!app) return 'The app was destroyed.';
  const outcome = await deps.releasePhase({
    uid: app.uid, egress: app.egress, addons: await deps.addonStore.endpointsOf(app.id),
    app: release.app_name, version: release.version, digest: slug.digest,
    command, config: release.config, log: (l) => void out.say(`       ${l}`),
  });
  if (outcome.code === 0) return undefined;
  deps.log.info('release phase failed', { app: release.app_name, release: release.version, code: outcome.code });
  return outcome.timedOut ? 'The release command timed out.' : `The release command exited with status ${outcome.code}.`;
}

/** The release phase of a pending release, then its deploy queued; on the app's turn (releaseStage holds it). */
async function releaseInTurn(deps: ReleaseStageDeps, release: Release, out: StageOutput, buildId: string | undefined): Promise<{ release?: number }> {
  try {
    const why = await runReleasePhase(deps, release, out);
    if (why) {
      await deps.releases.fail(release, why);
      await out.say(` !     Release v${release.version} failed: ${why}`);
      if (buildId) await deps.builds.fail(buildId, why);
      await out.finish({ status: 'failed', release: release.version, error: why });
      return {};
    }
    await deps.pipeline.deploy({ releaseId: release.id, buildId });
    return { release: release.version };
  } catch (e) {
    const why = `Internal error during the release: ${(e as Error).message}`;
    deps.log.error('release crashed', { release: release.id, error: (e as Error).stack ?? String(e) });
    await deps.releases.fail(release, why);
    if (buildId) await deps.builds.fail(buildId, why);
    await out.say(` !     ${why}`);
    await out.finish({ status: 'failed', release: release.version, error: why });
    return {};
  }
}

export function createReleaseStage(deps: ReleaseStageDeps) {
  return async function releaseStage(job: Job<ReleaseJob>): Promise<{ release?: number }> {
    const { buildId, slugId } = job.data;
    const release = job.data.releaseId ? await deps.releases.byId(job.data.releaseId) : buildId && slugId ? await releaseOfBuild(deps, buildId, slugId) : undefined;
    const out = stageOutput(deps.stageLogs, { buildId, releaseId: release?.id });
    if (!release) {
      if (buildId) await deps.builds.fail(buildId, 'The app or its slug was gone before its release was made.');
      await out.finish({ status: 'failed', error: 'The app or its slug was gone before its release was made.' });
      return {};
    }
    // One release phase per app at a time, in turn (two migrations of one database never run at once): db/turn.ts.
    const turn = await deps.takeTurn(`release:${release.app_id}`);
    try {
      const now = await deps.releases.byId(release.id); // as it is now that it has its turn
      if (!now || now.status !== 'pending') return {}; // a stage that ran before (a worker that died after it) finished it
      return await releaseInTurn(deps, now, out, buildId);
    } finally {
      await turn.end();
    }
  };
}
