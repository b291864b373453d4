/**
 * Settings passed down: the environment a supervised role process gets (the resolved config, so every role sees the
 * same one), and what no child inherits.
 */
import type { Config } from './config.js';
import type { Env } from './config-parse.js';

/** The environment a supervised role process gets: the resolved settings, so every role sees the same config. */
export function configToEnv(c: Config): Env {
  const env: Env = {
    SLIPWAY_DATA_DIR: c.dataDir,
    SLIPWAY_API_HOST: c.apiHost,
    SLIPWAY_API_PORT: String(c.apiPort),
    SLIPWAY_ROUTER_HOST: c.routerHost,
    SLIPWAY_ROUTER_PORT: String(c.routerPort),
    SLIPWAY_ROUTER_TLS_PORT: c.routerTlsPort === undefined ? 'off' : String(c.routerTlsPort),
    SLIPWAY_ROUTER_TLS_CERT: c.routerTls?.certFile,
    SLIPWAY_ROUTER_TLS_KEY: c.routerTls?.keyFile,
    SLIPWAY_CERT_KEY: c.certKey,
    SLIPWAY_ACME_DIRECTORY: c.acme.directoryUrl,
    SLIPWAY_ACME_EMAIL: c.acme.email,
    SLIPWAY_ACME_INTERVAL: String(c.acme.intervalMs / 1000),
    SLIPWAY_ACME_RETRY: String(c.acme.retryMs / 1000),
    SLIPWAY_ROUTER_WORKERS: String(c.routerWorkers),
    SLIPWAY_BASE_DOMAIN: c.baseDomain,
    SLIPWAY_PUBLIC_URL: c.publicUrl,
    SLIPWAY_REDIS_PREFIX: c.redisPrefix,
    SLIPWAY_ADMIN_EMAIL: c.adminEmail,
    SLIPWAY_LOGIN_TOKEN_DAYS: String(c.loginTokenTtlS / 86_400),
    SLIPWAY_DOMAIN_VERIFICATION: c.domainVerification,
    SLIPWAY_MAX_APPS_PER_USER: String(c.quotas.appsPerUser),
    SLIPWAY_MAX_ADDONS_PER_APP: String(c.quotas.addonsPerApp),
    SLIPWAY_MAX_ADDONS_PER_USER: String(c.quotas.addonsPerUser),
    SLIPWAY_MAX_ONE_OFFS: String(c.quotas.oneOffsPerApp),
    SLIPWAY_ONE_OFF_HOURS: String(c.quotas.oneOffMaxAgeMs / 3_600_000),
    SLIPWAY_USER_MAX_SIZE: c.quotas.userMaxSize,
    SLIPWAY_MAX_SOURCES: String(c.quotas.sourcesPerApp),
    SLIPWAY_BUILDS_PER_HOUR: String(c.quotas.buildsPerHour),
    SLIPWAY_BUILD_LOG_LINES: String(c.quotas.buildLogLines),
    SLIPWAY_KEEP_RELEASES: String(c.quotas.keepReleases),
    SLIPWAY_DISK_RESERVE_MB: String(c.quotas.diskReserveBytes / 1024 / 1024),
    SLIPWAY_REDIS_MAXMEMORY_MB: String(c.redisMaxMemoryBytes / 1024 / 1024),
    SLIPWAY_DNS_SERVERS: c.dnsServers.join(',') || undefined,
    SLIPWAY_PG_BIN_DIR: c.pgBinDir,
    SLIPWAY_LOG_LEVEL: c.logLevel,
    SLIPWAY_BUILD_CONCURRENCY: String(c.buildConcurrency),
    SLIPWAY_RELEASE_CONCURRENCY: String(c.releaseConcurrency),
    SLIPWAY_BUILD_TIMEOUT: String(c.buildTimeoutMs / 1000),
    SLIPWAY_RELEASE_TIMEOUT: String(c.releaseTimeoutMs / 1000),
    SLIPWAY_MAX_PUSH_MB: String(c.maxPushBytes / 1024 / 1024),
    SLIPWAY_MAX_SLUG_MB: String(c.maxSlugBytes / 1024 / 1024),
    SLIPWAY_NPM_REGISTRY: c.npmRegistry,
    SLIPWAY_OUTBOUND_ALLOW: c.outboundAllow.join(','),
    SLIPWAY_DOWNLOAD_CACHE: c.downloadCache,
    SLIPWAY_BUILD_CA_BUNDLE: c.buildCaBundle,
    SLIPWAY_BUILDPACK_DIRS: c.buildpackDirs.join(':') || undefined,
    SLIPWAY_STACKS_DIR: c.stacksDir,
    SLIPWAY_BUILD_ISOLATION: c.buildIsolation,
    SLIPWAY_BUILD_MEMORY_MB: String(c.buildMemoryBytes / 1024 / 1024),
    SLIPWAY_BUILD_DISK_MB: String(c.buildDiskBytes / 1024 / 1024),
    SLIPWAY_BUILD_CACHE_MB: String(c.buildCacheBytes / 1024 / 1024),
    SLIPWAY_SUBNET: c.subnet,
    SLIPWAY_BRIDGE: c.bridge,
    SLIPWAY_NAT: String(c.nat),
    SLIPWAY_DYNO_PORT: String(c.dynoPort),
    SLIPWAY_DEPLOY_VERIFY: c.deployVerify ? 'on' : 'off',
    SLIPWAY_BOOT_TIMEOUT: String(c.bootTimeoutMs / 1000),
    SLIPWAY_STOP_GRACE: String(c.stopGraceMs / 1000),
    SLIPWAY_CRASH_BACKOFF: String(c.crashBackoffMs / 1000),
    SLIPWAY_LOG_LINES: String(c.logLines),
    SLIPWAY_RENDEZVOUS_PORT: String(c.rendezvousPort),
    SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS: String(c.maxConnectionsPerAddress),
    SLIPWAY_AGENT_ADDRESS: c.agentAddress,
    SLIPWAY_ADDON_POSTGRES: typeof c.addons.postgres === 'object' ? c.addons.postgres.adminUrl : c.addons.postgres,
    SLIPWAY_ADDON_POSTGRES_PORT: String(c.addons.postgresPort),
    SLIPWAY_ADDON_REDIS: c.addons.redis,
    SLIPWAY_ADDON_REDIS_PORTS: c.addons.redisPorts.join('-'),
    SLIPWAY_ADDON_WATCH_INTERVAL: String(c.addons.watchMs / 1000),
    SLIPWAY_ADDON_DISK_RESERVE_MB: String(c.addons.diskReserveBytes / 2 ** 20),
    SLIPWAY_ADDON_DISK_MB: c.addons.diskSize === 'auto' ? 'auto' : String(c.addons.diskSize / 2 ** 20),
    SLIPWAY_IMAGE_PUSH_URL: c.imagePush ? `${c.imagePush.origin}/${c.imagePush.prefix}` : undefined,
    SLIPWAY_IMAGE_PUSH_USER: c.imagePush?.user,
    SLIPWAY_IMAGE_PUSH_PASSWORD: c.imagePush?.password,
    SLIPWAY_MAX_DYNOS: String(c.maxDynos),
    SLIPWAY_DYNO_SIZES: c.dynoSizes?.join(','),
    SLIPWAY_TLS: c.tls === 'self-signed' ? 'self-signed' : undefined,
    SLIPWAY_TLS_CERT: typeof c.tls === 'object' ? c.tls.certFile : undefined,
    SLIPWAY_TLS_KEY: typeof c.tls === 'object' ? c.tls.keyFile : undefined,
    DATABASE_URL: c.databaseUrl,
    REDIS_URL: c.redisUrl,
  };
  return env;
}

/** The process environment minus variables a child must not inherit (they slow node or leak into apps). */
export function baseChildEnv(): Env {
  const { NODE_EXTRA_CA_CERTS: _ca, NODE_OPTIONS: _opts, ...rest } = process.env;
  return rest;
}
