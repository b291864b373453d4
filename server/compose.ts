/** The composition root: one place that wires config into db, redis and services. No singletons. */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { createDb, type Db } from './db/pool.js';
import { migrate } from './db/migrate.js';
import { createRedis } from './redis.js';
import { createAppService } from './apps/service.js';
import { createCollaboratorService } from './apps/collaborators.js';
import { createRepoStore } from './services/repo-store.js';
import { createUserService } from './accounts/users.js';
import { createBuildService } from './builds/service.js';
import { createDiskGuard } from './services/disk-guard.js';
import { createSlugCollector } from './releases/slug-gc.js';
import { createBuildpackInstallations } from './builds/buildpack-installations.js';
import { createReleaseService } from './releases/service.js';
import { createSlugService } from './releases/slugs.js';
import { createConfigVarService } from './config-vars/service.js';
import { installHook } from './git/hooks.js';
import { createSourceStore } from './builds/sources.js';
import type { UrlInfo } from './api/serializers.js';
import { createEventBus, type EventBus } from './events.js';
import { createDynoService } from './dynos/service.js';
import { createDomainService } from './domains/service.js';
import { createKeyBox } from './services/key-box.js';
import { createAcmService } from './certs/acm.js';
import { createSniEndpointService } from './certs/sni-endpoints.js';
import { subscribeAppTeardown } from './apps/teardown.js';
import { createLifecycle } from './lifecycle.js';
import { createLoginGuard } from './accounts/login-guard.js';
import { closeStreamFollowers } from './logs/stream-follow.js';
import { createPipeline, type Pipeline } from './queue.js';
import { createAgentRegistry } from './plane/agents.js';
import { createLogSessions } from './logs/log-sessions.js';
import { createOneOffStore } from './dynos/one-off.js';
import { createTxtOwnership, noOwnershipCheck } from './domains/ownership.js';
import { createAddonService } from './addons/service.js';
import { createAddonStore } from './addons/store.js';
import { createImageStore } from './images/store.js';
import { createImagePusher } from './images/push.js';
import { createImageService } from './images/service.js';
import { addonServers } from './addons/servers.js';
import { createBackupRunner, removeBackupFiles } from './addons/backups.js';
import { createBackupStore } from './addons/backup-store.js';

export interface Platform {
  config: Config;
  db: Db;
  redis: Redis;
  services: ReturnType<typeof createServices>;
  /** The stages' queues: what starts a build, a release or a deploy. */
  pipeline: Pipeline;
  urls: UrlInfo;
  close(): Promise<void>;
}

/** Where the api role listens for pre-receive hooks. */
export const hookSocketPath = (config: Config) => join(config.dataDir, 'run', 'git-hook.sock');

export function createServices(config: Config, db: Db, events: EventBus, redis: Redis, pipeline?: Pipeline) {
  const repos = createRepoStore(join(config.dataDir, 'repos'), (path) => installHook(path, hookSocketPath(config), config.maxPushBytes));
  const users = createUserService(db, { singleUser: config.buildIsolation === 'host' });
  const appChanged = async (appId: string) => {
    await events?.publish({ kind: 'app', appId });
  };
  const lifecycle = createLifecycle();
  subscribeAppTeardown(lifecycle, { db, dataDir: config.dataDir, redis, redisPrefix: config.redisPrefix, releaseAddons: (appId) => addons.releaseApp(appId) });
  const apps = createAppService({ db, repos, baseDomain: config.baseDomain, events: { appChanged }, lifecycle, maxAppsPerUser: config.quotas.appsPerUser });
  const ownership = config.domainVerification === 'txt' ? createTxtOwnership({ servers: config.dnsServers }) : noOwnershipCheck;
  const domains = createDomainService({ db, baseDomain: config.baseDomain, platformHosts: [new URL(config.publicUrl).hostname], ownership, changed: appChanged });
  const collaborators = createCollaboratorService(db);
  const collectSlugs = createSlugCollector({ db, dataDir: config.dataDir, keepReleases: config.quotas.keepReleases });
  const disk = createDiskGuard({ dataDir: config.dataDir, reserveBytes: config.quotas.diskReserveBytes, collect: collectSlugs });
  const builds = createBuildService(db, { perHour: config.quotas.buildsPerHour, disk });
  const releases = createReleaseService(db, events, pipeline);
  const dynos = createDynoService(db, events, {
    maxQuantity: config.maxDynos, sizes: config.dynoSizes, oneOffsPerApp: config.quotas.oneOffsPerApp, userMaxSize: config.quotas.userMaxSize,
  });
  const slugs = createSlugService(db);
  const configVars = createConfigVarService(db, releases);
  const sources = createSourceStore(join(config.dataDir, 'sources'), { maxBytes: config.maxPushBytes, perApp: config.quotas.sourcesPerApp });
  const loginGuard = createLoginGuard(redis, config.redisPrefix);
  const tokenPolicy = { loginTtlS: config.loginTokenTtlS, maxTtlS: Math.max(config.loginTokenTtlS, 365 * 86_400) };
  const agents = createAgentRegistry(db);
  const logSessions = createLogSessions(redis, config.redisPrefix);
  const oneOffs = createOneOffStore(redis, config.redisPrefix);
  const buildpackInstallations = createBuildpackInstallations(db);
  const keys = createKeyBox({ dataDir: config.dataDir, certKey: config.certKey });
  const sniEndpoints = createSniEndpointService({ db, keys, changed: appChanged });
  const acm = createAcmService({ db, keys, changed: appChanged });
  const addonStore = createAddonStore(db);
  const servers = addonServers(config);
  const addons = createAddonService({
    db, store: addonStore, servers, keys, configVars, apps: () => apps, maxPerApp: config.quotas.addonsPerApp, maxPerUser: config.quotas.addonsPerUser, removeFiles: (a) => removeBackupFiles(config, a),
  });
  const backupStore = createBackupStore(db);
  const backups = createBackupRunner({ config, store: backupStore, server: () => servers.postgres, keys, disk });
  const images = createImageService({ dataDir: config.dataDir, stacksDir: config.stacksDir, releases, slugs, imageStore: createImageStore(db), blobGraceMs: 3600_000,
    pusher: config.imagePush ? createImagePusher(config.imagePush) : undefined,
  });
  return { lifecycle, images, addons, addonStore, backupStore, backups, keys, sniEndpoints, acm, repos, users, apps, collaborators, builds, releases, slugs, configVars, sources, dynos, domains, loginGuard, tokenPolicy, agents, logSessions, oneOffs, disk, collectSlugs, buildpackInstallations };
}

export function requireUrls(config: Config): { databaseUrl: string; redisUrl: string } {
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set: run `slipway up` (it starts embedded PostgreSQL and Redis) or set DATABASE_URL and REDIS_URL.');
  if (!config.redisUrl) throw new Error('REDIS_URL is not set: run `slipway up` (it starts embedded PostgreSQL and Redis) or set DATABASE_URL and REDIS_URL.');
  return { databaseUrl: config.databaseUrl, redisUrl: config.redisUrl };
}

/** Connects to PostgreSQL and Redis, applies migrations, builds the services. */
export async function openPlatform(config: Config, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<Platform> {
  const { databaseUrl, redisUrl } = requireUrls(config);
  const db = createDb(databaseUrl, opts.poolSize ?? 10);
  const redis = createRedis(redisUrl);
  try {
    if (opts.migrate !== false) await migrate(db);
  } catch (e) {
    redis.disconnect();
    await db.end();
    throw e;
  }
  const pipeline = createPipeline(redisUrl, config.redisPrefix);
  return {
    config,
    db,
    redis,
    services: createServices(config, db, createEventBus(redis, config.redisPrefix), redis, pipeline),
    pipeline,
    urls: { publicUrl: config.publicUrl, baseDomain: config.baseDomain, routerPort: config.routerPort },
    async close() {
      await pipeline.close();
      closeStreamFollowers(redis);
      redis.disconnect();
      await db.end();
    },
  };
}
