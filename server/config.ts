/**
 * The one place that reads the environment: every setting's variable, default and parser is in loadConfig below
 * (the checks in config-parse.ts), and what each means is in docs/configuration.md, which test/unit/docs.test.ts
 * holds to this file both ways (a setting read here and not listed there fails it, and the other way round).
 * Dyno sizes (Heroku's names) are in platform/sizes.ts.
 */
import { cpus, homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  addonSettings, cidrList, imagePushTarget, type ImagePushTarget, defaultPgBinDir, dnsServers, dynoSizes, hostAddress, name, oneOf, pathList, port, positiveInt, positiveNumber, subnet, tlsSetting, fileTlsSetting, url, type AddonSettings, type Env, type TlsFiles,
} from './config-parse.js';

export { defaultPgBinDir, type AddonSettings } from './config-parse.js';

export const ROLES = ['api', 'worker', 'router', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface Config {
  dataDir: string;
  apiHost: string;
  apiPort: number;
  routerHost: string;
  routerPort: number;
  /** The router's HTTPS port; undefined: no TLS port. */
  routerTlsPort?: number;
  /** The platform's certificate for *.BASE_DOMAIN (and unknown names); undefined: a self-signed one in DATA/tls. */
  routerTls?: TlsFiles;
  /** The key-encryption key of apps' private keys (hex); undefined: DATA/secrets/cert-key. */
  certKey?: string;
  /** Automatic certificates: where from, the account's contact, how often to check, the first retry's wait. */
  acme: { directoryUrl: string; email?: string; intervalMs: number; retryMs: number };
  /** An external registry each current release's image is pushed to (Basic auth); undefined: none. */
  imagePush?: ImagePushTarget;
  routerWorkers: number;
  baseDomain: string;
  publicUrl: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  adminEmail: string;
  adminPassword: string | undefined;
  /** Custom domains need a DNS TXT record proving their owner (txt), or not (off). */
  domainVerification: 'off' | 'acm' | 'txt';
  /** Resolvers for that check (IP or IP:port); empty: the system's. */
  dnsServers: string[];
  /** What one tenant may hold of the platform's shared capacity. */
  quotas: Quotas;
  /** maxmemory of the embedded Redis, in bytes. */
  redisMaxMemoryBytes: number;
  /** How long a token made by a password login works (seconds). */
  loginTokenTtlS: number;
  pgBinDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  buildConcurrency: number;
  releaseConcurrency: number;
  buildTimeoutMs: number;
  /** A release phase or postdeploy script running longer is killed (and the release fails). */
  releaseTimeoutMs: number;
  maxPushBytes: number;
  maxSlugBytes: number;
  npmRegistry: string;
  /** Private ranges (CIDRs) builds may reach beside the registries (SLIPWAY_OUTBOUND_ALLOW). */
  outboundAllow: string[];
  downloadCache: string;
  buildCaBundle: string | undefined;
  /** Directories an app may name a buildpack in by absolute path (BUILDPACK_URL, .buildpacks); empty: none. */
  buildpackDirs: string[];
  stacksDir: string;
  buildIsolation: 'container' | 'host';
  buildMemoryBytes: number;
  /** A build's disk (its build dir) and an app's build cache, each a filesystem of its own (build-disks.ts). */
  buildDiskBytes: number;
  buildCacheBytes: number;
  subnet: string;
  bridge: string;
  nat: boolean;
  dynoPort: number;
  /** Deploys wait for the new release's dynos (and their checks) before it counts; apps may turn it off. */
  deployVerify: boolean;
  bootTimeoutMs: number;
  stopGraceMs: number;
  crashBackoffMs: number;
  logLines: number;
  rendezvousPort: number;
  /** Connections open at once from one client address, per router worker, API and rendezvous port (router/address-cap.ts). */
  maxConnectionsPerAddress: number;
  /** The add-on servers (server/addons): where PostgreSQL databases and Redis servers for apps are made. */
  addons: AddonSettings;
  /** The address this host's agent reports: where the CLI reaches its rendezvous. */
  agentAddress: string;
  /** The most dynos of one process type an app may scale to. */
  maxDynos: number;
  /** Dyno sizes apps may choose; undefined: every size in platform/sizes.ts. */
  dynoSizes?: string[];
  /**
   * HTTPS on the API port beside HTTP (the Heroku CLI's git remotes are https://HOST/APP.git): a certificate and
   * key from files, or one generated self-signed under DATA/tls. Undefined: HTTP only.
   */
  tls?: TlsFiles | 'self-signed';
  /** True when running under CI=true (only used to make set-up output quieter). */
  ci: boolean;
  /** The uid of this process; root gets /var/lib/slipway and runs embedded PostgreSQL as `postgres`. */
  isRoot: boolean;
}

export interface Quotas {
  appsPerUser: number;
  /** Add-ons an app may have made (each a database or a Redis process on the add-on servers). */
  addonsPerApp: number;
  addonsPerUser: number;
  oneOffsPerApp: number;
  oneOffMaxAgeMs: number;
  /** The largest size a user who is not an administrator may ask for. */
  userMaxSize: string;
  sourcesPerApp: number;
  buildsPerHour: number;
  buildLogLines: number;
  /** Releases per app whose slugs garbage collection keeps. */
  keepReleases: number;
  /** Free disk under the data dir that builds, pushes, uploads and dyno scratch disks never eat into. */
  diskReserveBytes: number;
}

export interface ConfigFlags {
  dataDir?: string;
  apiPort?: string | number;
  routerPort?: string | number;
  routerTlsPort?: string | number;
}

export function loadConfig(env: Env = process.env, flags: ConfigFlags = {}): Config {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dataDir = resolve(flags.dataDir ?? env.SLIPWAY_DATA_DIR ?? (isRoot ? '/var/lib/slipway' : join(homedir(), '.slipway')));
  const apiHost = env.SLIPWAY_API_HOST || '127.0.0.1';
  const apiPort = port('--api-port / SLIPWAY_API_PORT', flags.apiPort ?? env.SLIPWAY_API_PORT, 5050);
  const routerHost = env.SLIPWAY_ROUTER_HOST || '127.0.0.1';
  const routerPort = port('--router-port / SLIPWAY_ROUTER_PORT', flags.routerPort ?? env.SLIPWAY_ROUTER_PORT, 8080);
  const tlsPortSetting = flags.routerTlsPort ?? env.SLIPWAY_ROUTER_TLS_PORT;
  const routerTlsPort = tlsPortSetting === 'off' ? undefined : port('--router-tls-port / SLIPWAY_ROUTER_TLS_PORT', tlsPortSetting, 8443);
  const baseDomain = (env.SLIPWAY_BASE_DOMAIN || 'localhost').toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(baseDomain)) {
    throw new Error(`SLIPWAY_BASE_DOMAIN must be a host name, got "${baseDomain}"`);
  }
  const publicHost = apiHost === '0.0.0.0' || apiHost === '::' ? '127.0.0.1' : apiHost;
  const publicUrl = (url('SLIPWAY_PUBLIC_URL', env.SLIPWAY_PUBLIC_URL) ?? `http://${publicHost}:${apiPort}`).replace(/\/+$/, '');
  const logLevel = (env.SLIPWAY_LOG_LEVEL || 'info') as Config['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new Error(`SLIPWAY_LOG_LEVEL must be debug, info, warn or error`);
  const redisPrefix = env.SLIPWAY_REDIS_PREFIX || 'slipway';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) throw new Error('SLIPWAY_REDIS_PREFIX may hold only letters, digits and _.:-');
  return {
    dataDir,
    apiHost,
    apiPort,
    routerHost,
    routerPort,
    routerTlsPort,
    routerTls: fileTlsSetting(env, 'SLIPWAY_ROUTER_TLS_CERT', 'SLIPWAY_ROUTER_TLS_KEY'),
    certKey: env.SLIPWAY_CERT_KEY || undefined,
    acme: {
      directoryUrl: url('SLIPWAY_ACME_DIRECTORY', env.SLIPWAY_ACME_DIRECTORY) ?? 'https://acme-v02.api.letsencrypt.org/directory',
      email: env.SLIPWAY_ACME_EMAIL || undefined,
      intervalMs: positiveNumber('SLIPWAY_ACME_INTERVAL', env.SLIPWAY_ACME_INTERVAL, 300) * 1000,
      retryMs: positiveNumber('SLIPWAY_ACME_RETRY', env.SLIPWAY_ACME_RETRY, 60) * 1000,
    },
    imagePush: imagePushTarget(env),
    routerWorkers: positiveInt('SLIPWAY_ROUTER_WORKERS', env.SLIPWAY_ROUTER_WORKERS, Math.max(1, cpus().length)),
    baseDomain,
    publicUrl,
    databaseUrl: url('DATABASE_URL', env.DATABASE_URL),
    redisUrl: url('REDIS_URL', env.REDIS_URL),
    redisPrefix,
    adminEmail: (env.SLIPWAY_ADMIN_EMAIL || 'admin@slipway.local').toLowerCase(),
    adminPassword: env.SLIPWAY_ADMIN_PASSWORD || undefined,
    domainVerification: oneOf('SLIPWAY_DOMAIN_VERIFICATION', env.SLIPWAY_DOMAIN_VERIFICATION, ['off', 'acm', 'txt'] as const, 'acm'),
    dnsServers: dnsServers(env.SLIPWAY_DNS_SERVERS),
    quotas: {
      appsPerUser: positiveInt('SLIPWAY_MAX_APPS_PER_USER', env.SLIPWAY_MAX_APPS_PER_USER, 100),
      addonsPerApp: positiveInt('SLIPWAY_MAX_ADDONS_PER_APP', env.SLIPWAY_MAX_ADDONS_PER_APP, 10),
      addonsPerUser: positiveInt('SLIPWAY_MAX_ADDONS_PER_USER', env.SLIPWAY_MAX_ADDONS_PER_USER, 20),
      oneOffsPerApp: positiveInt('SLIPWAY_MAX_ONE_OFFS', env.SLIPWAY_MAX_ONE_OFFS, 5),
      oneOffMaxAgeMs: positiveNumber('SLIPWAY_ONE_OFF_HOURS', env.SLIPWAY_ONE_OFF_HOURS, 24) * 3_600_000,
      userMaxSize: dynoSizes(env.SLIPWAY_USER_MAX_SIZE || 'standard-2x', 'SLIPWAY_USER_MAX_SIZE')![0],
      sourcesPerApp: positiveInt('SLIPWAY_MAX_SOURCES', env.SLIPWAY_MAX_SOURCES, 5),
      buildsPerHour: positiveInt('SLIPWAY_BUILDS_PER_HOUR', env.SLIPWAY_BUILDS_PER_HOUR, 60),
      buildLogLines: positiveInt('SLIPWAY_BUILD_LOG_LINES', env.SLIPWAY_BUILD_LOG_LINES, 10_000),
      keepReleases: positiveInt('SLIPWAY_KEEP_RELEASES', env.SLIPWAY_KEEP_RELEASES, 20),
      diskReserveBytes: positiveInt('SLIPWAY_DISK_RESERVE_MB', env.SLIPWAY_DISK_RESERVE_MB, 1024) * 1024 * 1024,
    },
    redisMaxMemoryBytes: positiveInt('SLIPWAY_REDIS_MAXMEMORY_MB', env.SLIPWAY_REDIS_MAXMEMORY_MB, 512) * 1024 * 1024,
    loginTokenTtlS: positiveInt('SLIPWAY_LOGIN_TOKEN_DAYS', env.SLIPWAY_LOGIN_TOKEN_DAYS, 30) * 86_400,
    pgBinDir: env.SLIPWAY_PG_BIN_DIR || defaultPgBinDir(),
    logLevel,
    buildConcurrency: positiveInt('SLIPWAY_BUILD_CONCURRENCY', env.SLIPWAY_BUILD_CONCURRENCY, 2),
    releaseConcurrency: positiveInt('SLIPWAY_RELEASE_CONCURRENCY', env.SLIPWAY_RELEASE_CONCURRENCY, 16),
    buildTimeoutMs: positiveInt('SLIPWAY_BUILD_TIMEOUT', env.SLIPWAY_BUILD_TIMEOUT, 900) * 1000,
    releaseTimeoutMs: positiveInt('SLIPWAY_RELEASE_TIMEOUT', env.SLIPWAY_RELEASE_TIMEOUT, 1800) * 1000,
    maxPushBytes: positiveInt('SLIPWAY_MAX_PUSH_MB', env.SLIPWAY_MAX_PUSH_MB, 1024) * 1024 * 1024,
    maxSlugBytes: positiveInt('SLIPWAY_MAX_SLUG_MB', env.SLIPWAY_MAX_SLUG_MB, 500) * 1024 * 1024,
    npmRegistry: (url('SLIPWAY_NPM_REGISTRY', env.SLIPWAY_NPM_REGISTRY) ?? 'https://registry.npmjs.org/').replace(/\/*$/, '/'),
    outboundAllow: cidrList('SLIPWAY_OUTBOUND_ALLOW', env.SLIPWAY_OUTBOUND_ALLOW),
    downloadCache: resolve(env.SLIPWAY_DOWNLOAD_CACHE || join(dataDir, 'cache', 'downloads')),
    stacksDir: resolve(env.SLIPWAY_STACKS_DIR || (isRoot ? '/var/cache/slipway/stacks' : join(homedir(), '.cache', 'slipway', 'stacks'))),
    buildIsolation: oneOf('SLIPWAY_BUILD_ISOLATION', env.SLIPWAY_BUILD_ISOLATION, ['container', 'host'] as const, isRoot ? 'container' : 'host'),
    buildMemoryBytes: positiveInt('SLIPWAY_BUILD_MEMORY_MB', env.SLIPWAY_BUILD_MEMORY_MB, 2048) * 1024 * 1024,
    buildDiskBytes: Math.max(64, positiveInt('SLIPWAY_BUILD_DISK_MB', env.SLIPWAY_BUILD_DISK_MB, 4096)) * 1024 * 1024,
    buildCacheBytes: Math.max(64, positiveInt('SLIPWAY_BUILD_CACHE_MB', env.SLIPWAY_BUILD_CACHE_MB, 2048)) * 1024 * 1024,
    subnet: subnet(env.SLIPWAY_SUBNET || '10.213.0.0/16'),
    bridge: name('SLIPWAY_BRIDGE', env.SLIPWAY_BRIDGE || 'slipway0'),
    nat: oneOf('SLIPWAY_NAT', env.SLIPWAY_NAT, ['true', 'false'] as const, 'true') === 'true',
    buildpackDirs: pathList('SLIPWAY_BUILDPACK_DIRS', env.SLIPWAY_BUILDPACK_DIRS),
    buildCaBundle: env.SLIPWAY_BUILD_CA_BUNDLE || (existsSync('/etc/ssl/certs/ca-certificates.crt') ? '/etc/ssl/certs/ca-certificates.crt' : undefined),
    dynoPort: port('SLIPWAY_DYNO_PORT', env.SLIPWAY_DYNO_PORT, 5000),
    deployVerify: oneOf('SLIPWAY_DEPLOY_VERIFY', env.SLIPWAY_DEPLOY_VERIFY, ['on', 'off'] as const, 'on') === 'on',
    bootTimeoutMs: positiveNumber('SLIPWAY_BOOT_TIMEOUT', env.SLIPWAY_BOOT_TIMEOUT, 60) * 1000,
    stopGraceMs: positiveNumber('SLIPWAY_STOP_GRACE', env.SLIPWAY_STOP_GRACE, 30) * 1000,
    crashBackoffMs: positiveNumber('SLIPWAY_CRASH_BACKOFF', env.SLIPWAY_CRASH_BACKOFF, 10) * 1000,
    logLines: positiveInt('SLIPWAY_LOG_LINES', env.SLIPWAY_LOG_LINES, 1500),
    rendezvousPort: port('SLIPWAY_RENDEZVOUS_PORT', env.SLIPWAY_RENDEZVOUS_PORT, 5052),
    maxConnectionsPerAddress: positiveInt('SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS', env.SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS, 1000),
    addons: addonSettings(env),
    agentAddress: hostAddress('SLIPWAY_AGENT_ADDRESS', env.SLIPWAY_AGENT_ADDRESS) ?? new URL(publicUrl).hostname,
    tls: tlsSetting(env),
    maxDynos: positiveInt('SLIPWAY_MAX_DYNOS', env.SLIPWAY_MAX_DYNOS, 100),
    dynoSizes: dynoSizes(env.SLIPWAY_DYNO_SIZES),
    ci: env.CI === 'true',
    isRoot,
  };
}
