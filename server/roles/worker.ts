import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostExecutor, type BuildExecutor } from '../../runner/build/executor.js';
import { createRuncBuildExecutor } from '../../runner/build/build-executor.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { ensureStack } from '../../runner/sandbox/stack.js';
import { DEFAULT_DYNO_SIZE, dynoSize } from '../../platform/sizes.js';
import { appIdentity } from '../../runner/sandbox/identity.js';
import { createRunStackCheck, type RunStackCheck } from '../../runner/build/run-stack-check.js';
import { createRedisBuildLog } from '../builds/build-log.js';
import type { Platform } from '../compose.js';
import { requireUrls } from '../compose.js';
import type { Logger } from '../log.js';
import { createStageWorker, QUEUES, type FairShare } from '../queue.js';
import { createLeases } from '../leases.js';
import { tryTurnTaker, turnTaker } from '../db/turn.js';
import { createDomainDns } from '../domains/dns.js';
import { createTxtOwnership } from '../domains/ownership.js';
import type { Job } from 'bullmq';
import { redisMemoryProblem } from '../redis.js';
import { createAddressService } from '../services/addresses.js';
import { createBuildStage } from '../stages/build.js';
import { createReleaseStage, type SlugCommand } from '../stages/release.js';
import { createDeployStage } from '../stages/deploy.js';
import { createAcmeIssuer } from '../certs/acme-issuer.js';
import { BACKUP_SCHEDULE_EVERY_MS, createBackupScheduler } from '../addons/backup-schedule.js';
import { startPeriodicJobs } from '../jobs.js';
import { createRouteAcks } from '../plane/route-acks.js';
import { createDeployWatch } from '../plane/deploys.js';
import { formatEntry, tailLog } from '../logs/app-log.js';
import { createNetnsLeaser } from '../../runner/sandbox/netns-lease.js';
import { createOneOffRunner } from '../../runner/sandbox/one-off.js';
import { createSlugLowers } from '../images/slug-lowers.js';
import { dataBlobStore } from '../images/blobs.js';
import { reapDeadWorkers } from '../../runner/sandbox/reaper.js';
import { tmpdir } from 'node:os';

/**
 * Build containers (runc, the build stack, a network namespace with NAT) and one-offs of a slug (release phase, postdeploy) when
 * isolation is on; else builds on the host and no release phase.
 */
async function isolation(p: Platform, log: Logger): Promise<{ executor: BuildExecutor; runInSlug?: SlugCommand; runStackCheck?: RunStackCheck }> {
  const c = p.config;
  if (c.buildIsolation === 'host') {
    log.warn('builds run on the host, not in build containers (not root, or SLIPWAY_BUILD_ISOLATION=host): every build runs as this user with the data dir, its admin token and every app in reach, so this platform takes one user only');
    return { executor: createHostExecutor() };
  }
  const rootfs = await ensureStack(c.stacksDir, 'build', { log: (l) => log.info(l) });
  await mkdir(c.downloadCache, { recursive: true, mode: 0o755 });
  await chown(c.downloadCache, 0, 0);
  const mounts = [
    // Read-only: only the worker adds to it, after checking each tarball against the registry (download-cache.ts).
    { source: c.downloadCache, destination: '/tmp/downloads', readonly: true },
    { source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true },
    ...(c.buildCaBundle ? [{ source: c.buildCaBundle, destination: '/tmp/slipway-ca.crt', readonly: true }] : []),
  ];
  const runc = createRunc({ root: join(c.dataDir, 'run', 'runc'), bundles: join(c.dataDir, 'run', 'bundles') });
  const network = { bridge: c.bridge, subnet: c.subnet, nat: c.nat };
  const addresses = createAddressService(p.db, c.subnet);
  const reaped = await reapDeadWorkers({
    runc, scratchDirs: [tmpdir(), join(c.dataDir, 'run', 'builds'), join(c.dataDir, 'run', 'dynos')], releaseAddresses: (owners) => addresses.releaseOwners(owners),
  });
  if (reaped.containers.length + reaped.netns.length + reaped.dirs.length > 0) {
    log.warn('cleaned up after a worker that died mid-build', { containers: reaped.containers.length, netns: reaped.netns.length, dirs: reaped.dirs.length });
  }
  const executor = createRuncBuildExecutor({ runc, rootfs, network, addresses, memoryBytes: c.buildMemoryBytes, mounts, identitiesDir: join(c.dataDir, 'run', 'identities') });
  const runStack = await ensureStack(c.stacksDir, 'run', { log: (l) => log.info(l) });
  const oneOff = createOneOffRunner({ runc, rootfs: runStack, withNetns: createNetnsLeaser(network, addresses), scratchDir: join(c.dataDir, 'run', 'dynos') });
  const lowers = createSlugLowers({ dataDir: c.dataDir, layersOf: (digest) => p.services.slugs.layersOf(digest) });
  const runInSlug: SlugCommand = async (input) => {
    const who = appIdentity(input.uid);
    const slugLowers = await lowers(input.digest, who);
    const size = dynoSize(DEFAULT_DYNO_SIZE)!;
    return oneOff({
      app: input.app, slugLowers, command: input.command, memoryBytes: size.memoryBytes, diskBytes: size.diskBytes, uid: who.uid, egress: input.egress, addons: input.addons, timeoutMs: c.releaseTimeoutMs, onLine: input.log,
      identity: { dyno: input.dyno ?? 'release.1', port: 5000, releaseVersion: input.version, config: input.config },
    });
  };
  return { executor, runInSlug, runStackCheck: createRunStackCheck({ runc, rootfs: runStack }) };
}

export const DEPLOY_CONCURRENCY = 20;

/**
 * The owner of the app a stage's job is for: the tenant whose share of the queue it counts against. An
 * administrator's apps are the operator's, not a tenant's: they count against no share.
 */
function jobOwners(p: Platform) {
  const { apps, builds, releases, users } = p.services;
  const ownerOf = async (appId: string | undefined) => {
    const owner = appId ? (await apps.byId(appId))?.owner_id : undefined;
    return owner && !(await users.get(owner))?.is_admin ? owner : undefined;
  };
  const ofBuild = async (id: unknown) => (typeof id === 'string' ? (await builds.byId(id))?.app_id : undefined);
  const ofRelease = async (id: unknown) => (typeof id === 'string' ? (await releases.byId(id))?.app_id : undefined);
  return {
    build: async (job: Job) => ownerOf(await ofBuild(job.data.buildId)),
    release: async (job: Job) => ownerOf((await ofRelease(job.data.releaseId)) ?? (await ofBuild(job.data.buildId))),
    deploy: async (job: Job) => ownerOf(await ofRelease(job.data.releaseId)),
  };
}

/** The worker role: BullMQ workers running the build, release and deploy stages, each on its own queue. */
export async function startWorkerRole(p: Platform, log: Logger) {
  const { redisUrl, databaseUrl } = requireUrls(p.config);
  const c = p.config;
  const stageLogs = {
    builds: createRedisBuildLog(p.redis, c.redisPrefix, { maxLines: c.quotas.buildLogLines }),
    releases: createRedisBuildLog(p.redis, c.redisPrefix, { maxLines: c.quotas.buildLogLines }, 'releaselog'),
  };
  const { executor, runInSlug, runStackCheck } = await isolation(p, log);
  const takeTurn = turnTaker(databaseUrl);
  const build = createBuildStage({ ...p.services, db: p.db, takeTurn, config: c, buildLog: stageLogs.builds, executor, runStackCheck, blobs: dataBlobStore(c.dataDir), pipeline: p.pipeline, log: log.child('build') });
  const release = createReleaseStage({ ...p.services, db: p.db, takeTurn, config: c, stageLogs, pipeline: p.pipeline, releasePhase: runInSlug, log: log.child('release') });
  const deploy = createDeployStage({
    ...p.services, db: p.db, takeTurn, config: c, watch: createDeployWatch(p.db), stageLogs, urls: p.urls, postdeploy: runInSlug, log: log.child('deploy'),
    lastLines: async (appId, dyno, n, since) =>
      (await tailLog(p.redis, c.redisPrefix, appId, n, { dyno })).filter((e) => new Date(e.time) >= new Date(since.getTime() - 1000)).map(formatEntry),
  });
  // Deploys mostly wait on dynos coming up, so many run at once; builds take a core each. One owner's jobs take at
  // most half of a queue's slots (queue.ts), the rest wait delayed, holding none.
  const leases = createLeases(p.redis, c.redisPrefix);
  const fair = (slots: number, tenantOf: FairShare['tenantOf']): FairShare => ({ leases, tenantOf, share: Math.ceil(slots / 2) });
  const owners = jobOwners(p);
  const workers = [
    createStageWorker(redisUrl, c.redisPrefix, QUEUES.builds, { build }, c.buildConcurrency, fair(c.buildConcurrency, owners.build)),
    createStageWorker(redisUrl, c.redisPrefix, QUEUES.releases, { release }, c.releaseConcurrency, fair(c.releaseConcurrency, owners.release)),
    createStageWorker(redisUrl, c.redisPrefix, QUEUES.deploys, { deploy }, DEPLOY_CONCURRENCY, fair(DEPLOY_CONCURRENCY, owners.deploy)),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) => log.warn('job failed', { queue: w.name, job: job?.name, id: job?.id, error: err.message }));
    w.on('error', (err) => log.warn('queue error', { queue: w.name, error: err.message }));
  }
  // Slugs no kept release uses are removed after each deploy and every 10 minutes (server/releases/slug-gc.ts), and
  // then the release images' blobs no image of a kept release uses (server/images/service.ts).
  const collect = () => p.services.collectSlugs().then(async (r) => {
    if (r.expired) log.info('garbage-collected slugs', { expired: r.expired, freed_mb: Math.round(r.removedBytes / 2 ** 20) });
    const i = await p.services.images.collect();
    if (i.forgotten || i.removedBytes) log.info('garbage-collected release images', { images: i.forgotten, freed_mb: Math.round(i.removedBytes / 2 ** 20) });
  }).catch((e: Error) => log.warn('garbage collection failed', { error: e.message }));
  // After each deploy what it left behind is collected; a release that became current has its image pushed to the
  // external registry (SLIPWAY_IMAGE_PUSH_URL), if one is set (server/lifecycle.ts).
  const { lifecycle } = p.services;
  if (c.imagePush) {
    lifecycle.on('releaseCurrent', ({ releaseId }) => p.services.images.push(releaseId).then((r) => {
      if (r) log.info('release image pushed', { repository: r.repository, tags: r.tags.join(','), blobs_sent: r.sent });
    }, (e: Error) => log.warn('pushing the release image failed', { release: releaseId, error: e.message })));
  }
  workers[2].on('completed', (job, result: { release?: number; current?: boolean } | undefined) => {
    void collect();
    if (result?.current) void lifecycle.emit('releaseCurrent', { releaseId: job.data.releaseId });
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // Automatic certificates: issued and renewed every SLIPWAY_ACME_INTERVAL (one worker of the platform at a time).
  const acks = createRouteAcks(p.redis, c.redisPrefix);
  const issuer = createAcmeIssuer({
    ...p.services, directoryUrl: c.acme.directoryUrl, email: c.acme.email, retryBaseMs: c.acme.retryMs, log: log.child('acme'),
    baseDomain: c.baseDomain, dns: createDomainDns({ servers: c.dnsServers }),
    ownership: c.domainVerification === 'off' ? undefined : createTxtOwnership({ servers: c.dnsServers }),
    routesApplied: (appId) => acks.dropped(appId), tryTurn: tryTurnTaker(databaseUrl),
  });
  const scheduler = createBackupScheduler({ store: p.services.backupStore, addons: p.services.addonStore, backups: p.services.backups, log: log.child('backups') });
  // The worker's periodic jobs, all of them (server/jobs.ts).
  const jobs = startPeriodicJobs([
    { name: 'slug and image garbage collection', everyMs: 10 * 60_000, firstAfterMs: 10 * 60_000, run: collect },
    { name: 'automatic certificates', everyMs: c.acme.intervalMs, firstAfterMs: c.acme.intervalMs, run: () => issuer.tick() },
    { name: 'scheduled backups', everyMs: BACKUP_SCHEDULE_EVERY_MS, firstAfterMs: 1000, run: () => scheduler.runDue() },
  ], log);
  const memory = await redisMemoryProblem(p.redis);
  if (memory) log.warn(memory);
  log.info('ready', { queues: Object.values(QUEUES).join(','), concurrency: c.buildConcurrency, isolation: c.buildIsolation });
  return {
    stop: async () => {
      void jobs.stop(); // no pass starts again; one under way (a backup) ends on its own
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
