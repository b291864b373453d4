/**
 * Deploy: the release's dynos are started beside the current release's (the agents run them as candidates), and
 * the release becomes current only once every one of them is verified: a web dyno accepted connections on $PORT
 * and passed its app.json startup checks, any other stayed up a few seconds, all within the boot timeout. Then the
 * routers send to the new dynos and the old ones drain. If one crashes or fails its checks, the release is marked
 * failed with the reason and the dyno's last lines, and the current release never stopped serving. An app turns
 * verification off with SLIPWAY_DEPLOY_VERIFY=off (its dynos are then replaced as they come up). One deploy per
 * app at a time.
 */
import type { Job } from 'bullmq';
import { webUrl, type UrlInfo } from '../api/serializers.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { TakeTurn, Turn } from '../db/turn.js';
import type { Logger } from '../log.js';
import type { DeployWatch, ReportedDyno } from '../plane/deploys.js';
import type { DeployJob } from '../queue.js';
import type { BuildService } from '../builds/service.js';
import type { Release, ReleaseService } from '../releases/service.js';
import type { SlugService } from '../releases/slugs.js';
import { stageOutput, type StageLogs, type StageOutput } from './output.js';
import { checksFor, checksWorstCaseS, MAX_CHECKS_S, type HealthCheck } from '../../platform/health-check.js';
import { runPostdeploy, type PostdeployDeps } from './postdeploy.js';

/** A worker (a dyno that is not web) must stay up this long to count. */
export const WORKER_UPTIME_MS = 3_000;

export interface DeployStageDeps extends PostdeployDeps {
  db: Db;
  /** The app's turn at this stage (db/turn.ts). */
  takeTurn: TakeTurn;
  config: Config;
  builds: BuildService;
  releases: ReleaseService;
  slugs: SlugService;
  watch: DeployWatch;
  stageLogs: StageLogs;
  urls: UrlInfo;
  /** The last lines of an app's dyno in its log since a time (a failed deploy's report). */
  lastLines(appId: string, dyno: string, n: number, since: Date): Promise<string[]>;
  log: Logger;
}

type Verdict = { ok: true; ms: number } | { ok: false; why: string; dyno?: string; since?: Date };

/** Verification is off for the platform (SLIPWAY_DEPLOY_VERIFY=off) or for this app (its config var). */
const verifyOff = (deps: DeployStageDeps, r: Release) => !deps.config.deployVerify || /^(off|false|0|no)$/i.test(r.config.SLIPWAY_DEPLOY_VERIFY ?? '');

/**
 * How long the release's dynos get: the boot timeout, plus what its startup checks may take (at most MAX_CHECKS_S,
 * however many an app.json lists), plus some slack.
 */
export function verifyBudgetMs(bootTimeoutMs: number, checks: HealthCheck[]): number {
  return bootTimeoutMs + 1000 * Math.min(MAX_CHECKS_S, checksWorstCaseS(checks)) + WORKER_UPTIME_MS + 10_000;
}

async function budgetMs(deps: DeployStageDeps, release: Release): Promise<number> {
  const slug = release.slug_id ? await deps.slugs.byId(release.slug_id) : undefined;
  const types = new Set([...Object.keys(slug?.healthchecks ?? {}), 'web']);
  return verifyBudgetMs(deps.config.bootTimeoutMs, [...types].flatMap((type) => checksFor(type, slug?.healthchecks?.[type], release.config)));
}

/** Waits until every expected dyno of the release is verified, one of them failed, or the time is up. */
async function verify(deps: DeployStageDeps, release: Release, expected: { name: string; type: string }[]): Promise<Verdict> {
  const t0 = Date.now();
  const deadline = t0 + (await budgetMs(deps, release));
  for (;;) {
    const rows = await deps.watch.reported(release.app_id, release.id);
    const latest = new Map<string, ReportedDyno>();
    for (const r of rows) latest.set(r.name, r);
    const failed = rows.find((r) => r.state === 'crashed');
    if (failed) {
      const status = failed.exit_code === null ? '' : ` (exit status ${failed.exit_code})`;
      return { ok: false, why: `${failed.name} of v${release.version} failed to start${status}`, dyno: failed.name, since: failed.started_at ?? new Date(t0) };
    }
    const ready = expected.every((e) => {
      const r = latest.get(e.name);
      if (r?.state !== 'up') return false;
      return e.type === 'web' || (r.started_at !== null && Date.now() - r.started_at.getTime() >= WORKER_UPTIME_MS);
    });
    if (ready) return { ok: true, ms: Date.now() - t0 };
    if (Date.now() > deadline) {
      const late = expected.find((e) => latest.get(e.name)?.state !== 'up') ?? expected[0];
      return { ok: false, why: `${late.name} of v${release.version} was not up within ${Math.round((deadline - t0) / 1000)} s`, dyno: late.name, since: new Date(t0) };
    }
    // Often at first (a dyno is usually up within a second), then less.
    await new Promise((r) => setTimeout(r, Date.now() - t0 < 10_000 ? 40 : 200));
  }
}

async function succeed(deps: DeployStageDeps, release: Release, out: StageOutput, buildId: string | undefined): Promise<boolean> {
  await deps.releases.setStatus(release.id, 'succeeded');
  await out.say(`       Released v${release.version}`);
  await out.say(`       ${webUrl(release.app_name, deps.urls)} deployed to Slipway`);
  await runPostdeploy(deps, release, out);
  if (buildId) await deps.builds.succeed(buildId);
  await out.finish({ status: 'succeeded', release: release.version });
  return true;
}

async function failed(deps: DeployStageDeps, release: Release, out: StageOutput, buildId: string | undefined, v: Extract<Verdict, { ok: false }>): Promise<boolean> {
  const lines = v.dyno ? await deps.lastLines(release.app_id, v.dyno, 20, v.since ?? new Date(0)).catch(() => []) : [];
  // The platform's own account of why (a boot timeout, a failed health check, out of memory) says it best.
  const error = lines.map((l) => /slipway\[[^\]]+\]: (Error .*|Error: .*)$/.exec(l)?.[1]).find(Boolean);
  if (error) v = { ...v, why: `${v.dyno} of v${release.version}: ${error.replace(/^Error: /, '')}` };
  await deps.releases.fail(release, v.why);
  await out.say('-----> Verifying deploy... failed');
  await out.say(` !     ${v.why}.`);
  if (lines.length) {
    await out.say(` !     Its last lines:`);
    for (const l of lines) await out.say(` !       ${l}`);
  }
  await out.say(` !     Release v${release.version} failed; the running release keeps serving.`);
  if (buildId) await deps.builds.fail(buildId, v.why);
  await out.finish({ status: 'failed', release: release.version, error: v.why });
  deps.log.info('deploy failed', { app: release.app_name, release: release.version, why: v.why });
  return false;
}

/** Deploys the release (its lock held): verified, or at once when there is nothing to verify; whether it is current. */
async function deployRelease(deps: DeployStageDeps, release: Release, out: StageOutput, buildId: string | undefined): Promise<boolean> {
  await out.say('-----> Launching...');
  if (!release.slug_id || verifyOff(deps, release)) return succeed(deps, release, out, buildId);
  await deps.releases.beginDeploy(release);
  const expected = await deps.watch.expected(release.app_id, release.process_types);
  if (expected.length === 0) return succeed(deps, release, out, buildId);
  const v = await verify(deps, release, expected);
  if (!v.ok) return failed(deps, release, out, buildId, v);
  await out.say(`-----> Verifying deploy... done (${expected.map((e) => e.name).join(', ')} up in ${(v.ms / 1000).toFixed(1)} s)`);
  return succeed(deps, release, out, buildId);
}

export function createDeployStage(deps: DeployStageDeps) {
  /** The release deployed, and whether it became current (a failed one did not: the one before keeps serving). */
  return async function deployStage(job: Job<DeployJob>): Promise<{ release?: number; current?: boolean }> {
    const { releaseId, buildId } = job.data;
    const out = stageOutput(deps.stageLogs, { buildId, releaseId });
    let turn: Turn | undefined;
    try {
      const first = await deps.releases.byId(releaseId);
      if (!first) return {};
      turn = await deps.takeTurn(`deploy:${first.app_id}`);
      const release = await deps.releases.byId(releaseId); // as it is now that it has its turn
      if (!release || release.status !== 'pending') return {};
      const current = await deployRelease(deps, release, out, buildId);
      return { release: release.version, current };
    } catch (e) {
      const why = `Internal error during the deploy: ${(e as Error).message}`;
      deps.log.error('deploy crashed', { release: releaseId, error: (e as Error).stack ?? String(e) });
      const release = await deps.releases.byId(releaseId);
      if (release) await deps.releases.fail(release, why).catch(() => undefined);
      if (buildId) await deps.builds.fail(buildId, why).catch(() => undefined);
      await out.finish({ status: 'failed', error: why }).catch(() => undefined);
      return {};
    } finally {
      await turn?.end();
    }
  };
}
