/**
 * The one place that reads the environment. Every setting, its variable and its default is listed here.
 *
 * | variable                 | default                                   | meaning                                        |
 * |--------------------------|-------------------------------------------|------------------------------------------------|
 * | SLIPWAY_DATA_DIR         | /var/lib/slipway (root), else ~/.slipway  | repos, slugs, stacks, embedded PostgreSQL/Redis |
 * | SLIPWAY_API_HOST         | 127.0.0.1                                 | address the API, dashboard and git listen on    |
 * | SLIPWAY_API_PORT         | 5050                                      |                                                |
 * | SLIPWAY_ROUTER_HOST      | 127.0.0.1                                 | address the router listens on                   |
 * | SLIPWAY_ROUTER_PORT      | 8080                                      |                                                |
 * | SLIPWAY_ROUTER_TLS_PORT  | 8443                                      | the router's HTTPS port (SNI: apps' certificates, else the platform's); off: none |
 * | SLIPWAY_ROUTER_TLS_CERT  | (none: a self-signed *.BASE_DOMAIN one in DATA/tls) | with SLIPWAY_ROUTER_TLS_KEY: the platform's certificate for *.BASE_DOMAIN |
 * | SLIPWAY_ACME_DIRECTORY   | https://acme-v02.api.letsencrypt.org/directory | the ACME directory automatic certificates come from |
 * | SLIPWAY_ACME_EMAIL       | (none)                                    | the contact the ACME account is registered with |
 * | SLIPWAY_ACME_INTERVAL    | 300 (seconds)                             | how often domains are checked for certificates to issue or renew |
 * | SLIPWAY_ACME_RETRY       | 60 (seconds)                              | the first retry after a failed order (then 4x longer each time, 5 tries) |
 * | SLIPWAY_CERT_KEY         | (none: made once in DATA/secrets/cert-key) | 64 hex: the key apps' private keys are sealed under (the same on every host) |
 * | SLIPWAY_ROUTER_WORKERS   | number of cores                           | router cluster size                             |
 * | SLIPWAY_BASE_DOMAIN      | localhost                                 | apps answer at APP.BASE_DOMAIN                  |
 * | SLIPWAY_PUBLIC_URL       | http://API_HOST:API_PORT                  | how clients reach the API and git               |
 * | DATABASE_URL             | (none: embedded PostgreSQL in DATA/postgres) |                                             |
 * | REDIS_URL                | (none: embedded Redis in DATA/redis)      | also unix:///path/to/redis.sock                 |
 * | SLIPWAY_REDIS_PREFIX     | slipway                                   | prefix of every Redis key, queue and channel    |
 * | SLIPWAY_ADMIN_EMAIL      | admin@slipway.local                       | the account made on first start                 |
 * | SLIPWAY_ADMIN_PASSWORD   | (none: token login only until one is set) | its password, read on first start only          |
 * | SLIPWAY_PG_BIN_DIR       | newest /usr/lib/postgresql/N/bin          | initdb and postgres for the embedded cluster    |
 * | SLIPWAY_LOGIN_TOKEN_DAYS | 30                                        | tokens made by logging in with a password expire |
 * | SLIPWAY_DOMAIN_VERIFICATION | acm                                    | acm: a domain gets an automatic certificate only once a TXT record proves its owner; txt: every custom domain needs that proof to be added; off: none |
 * | SLIPWAY_DNS_SERVERS      | (the system's resolvers)                  | comma-separated IP[:port] resolvers for that check |
 * | SLIPWAY_MAX_APPS_PER_USER| 100                                       | apps a user may own (administrators: no limit) |
 * | SLIPWAY_MAX_ONE_OFFS     | 5                                         | one-off dynos running at once per app           |
 * | SLIPWAY_ONE_OFF_HOURS    | 24                                        | a one-off dyno is stopped after this long       |
 * | SLIPWAY_USER_MAX_SIZE    | standard-2x                               | the largest dyno size a non-administrator may ask for |
 * | SLIPWAY_MAX_SOURCES      | 5                                         | source uploads waiting per app (each up to SLIPWAY_MAX_PUSH_MB, all together twice that) |
 * | SLIPWAY_BUILDS_PER_HOUR  | 60                                        | builds an app may start in an hour              |
 * | SLIPWAY_BUILD_LOG_LINES  | 10000                                     | lines of one build's output kept (then one line says how many were dropped) |
 * | SLIPWAY_KEEP_RELEASES    | 20                                        | releases per app whose slugs are kept (older slugs are removed; rollback reaches these) |
 * | SLIPWAY_DISK_RESERVE_MB  | 1024                                      | free disk under the data dir kept for PostgreSQL, Redis and git: builds, pushes, uploads and dynos that would eat into it are refused |
 * | SLIPWAY_REDIS_MAXMEMORY_MB | 512                                     | the embedded Redis's memory (noeviction: queue data is never evicted) |
 * | SLIPWAY_LOG_LEVEL        | info                                      | debug, info, warn, error                        |
 * | SLIPWAY_BUILD_CONCURRENCY| 2                                         | builds at once per worker (one per app at a time; one owner's at most half, rounded up) |
 * | SLIPWAY_RELEASE_CONCURRENCY | 16                                     | release phases at once per worker (one per app at a time; one owner's at most half) |
 * | SLIPWAY_BUILD_TIMEOUT    | 900 (seconds)                             | a build running longer is killed                |
 * | SLIPWAY_RELEASE_TIMEOUT  | 1800 (seconds)                            | a release phase or postdeploy script running longer is killed (the release fails) |
 * | SLIPWAY_MAX_PUSH_MB      | 1024                                      | the largest git push accepted                   |
 * | SLIPWAY_MAX_SLUG_MB      | 500                                       | the largest slug a build may make               |
 * | SLIPWAY_NPM_REGISTRY     | https://registry.npmjs.org/               | where buildpacks fetch node, npm and packages   |
 * | SLIPWAY_OUTBOUND_ALLOW   | (none)                                    | private ranges (CIDRs, comma-separated) builds may reach; the rest of 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16 never |
 * | SLIPWAY_DOWNLOAD_CACHE   | DATA/cache/downloads                      | node/npm tarballs, shared by every app's builds |
 * | SLIPWAY_STACKS_DIR       | /var/cache/slipway/stacks (root)          | stack root filesystems, shared by every data dir |
 * | SLIPWAY_BUILD_ISOLATION  | container (root), else host               | container: each buildpack step in a runc build container |
 * | SLIPWAY_BUILD_MEMORY_MB  | 2048                                      | memory limit of a build container               |
 * | SLIPWAY_BUILD_DISK_MB    | 4096                                      | a build's disk: the app and what the build adds (ENOSPC past it) |
 * | SLIPWAY_BUILD_CACHE_MB   | 2048                                      | an app's build cache, kept between builds (cleared when a build fills it) |
 * | SLIPWAY_SUBNET           | 10.213.0.0/16                             | container addresses; the host is the first one  |
 * | SLIPWAY_BRIDGE           | slipway0                                  | the bridge containers are joined to             |
 * | SLIPWAY_NAT              | true                                      | containers reach beyond the machine through NAT |
 * | SLIPWAY_BUILDPACK_DIRS   | (none: host-path buildpacks refused)      | colon-separated dirs buildpacks may be used from by absolute path |
 * | SLIPWAY_BUILD_CA_BUNDLE  | /etc/ssl/certs/ca-certificates.crt if any | CA certificates builds trust (NODE_EXTRA_CA_CERTS, cafile) |
 * | SLIPWAY_DYNO_PORT        | 5000                                      | $PORT inside every dyno (each has its own netns) |
 * | SLIPWAY_DEPLOY_VERIFY    | on                                        | off: a release counts once made, without waiting for its dynos |
 * | SLIPWAY_BOOT_TIMEOUT     | 60 (seconds)                              | a web dyno must accept TCP on $PORT by then (R10) |
 * | SLIPWAY_STOP_GRACE       | 30 (seconds)                              | SIGTERM to SIGKILL when a dyno stops (R12)      |
 * | SLIPWAY_CRASH_BACKOFF    | 10 (seconds)                              | the first delayed restart; doubles up to 5 min  |
 * | SLIPWAY_LOG_LINES        | 1500                                      | lines kept per app log stream                   |
 * | SLIPWAY_RENDEZVOUS_PORT  | 5052                                      | the agent's port for attached one-offs (`slipway run`), on API_HOST |
 * | SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS | 1000                           | connections open at once from one client address on each router worker, the API and the rendezvous port |
 * | SLIPWAY_AGENT_ADDRESS    | the host of SLIPWAY_PUBLIC_URL            | where clients reach this host's agent (attach URLs); reported to the registry |
 * | SLIPWAY_ADDON_POSTGRES   | embedded                                  | the PostgreSQL add-on server: embedded (DATA/addons/postgres, run by `slipway up`), off, or an operator's postgres://ADMIN:PASSWORD@HOST:PORT/postgres |
 * | SLIPWAY_ADDON_POSTGRES_PORT | 15432                                  | the embedded add-on PostgreSQL's port on the bridge's gateway address |
 * | SLIPWAY_ADDON_REDIS      | embedded                                  | Redis add-ons: embedded (a redis-server per add-on, run by `slipway up`) or off |
 * | SLIPWAY_MAX_ADDONS_PER_APP | 10                                     | add-ons an app may make                         |
 * | SLIPWAY_MAX_ADDONS_PER_USER | 20                                    | add-ons one owner's apps may have together (administrators: no limit) |
 * | SLIPWAY_ADDON_REDIS_PORTS| 16380-16999                               | the ports Redis add-ons listen on, on the bridge's gateway address |
 * | SLIPWAY_IMAGE_PUSH_URL   | (none)                                    | an external registry (http(s)://HOST[:PORT][/PATH]) each current release's image is pushed to, as PATH/APP:vN and :latest |
 * | SLIPWAY_IMAGE_PUSH_USER / _PASSWORD | (none)                         | its Basic auth credentials (the password is never logged) |
 * | SLIPWAY_ADDON_WATCH_INTERVAL | 60 (seconds)                          | how often the add-on host checks its disk and each database's size against its plan |
 * | SLIPWAY_ADDON_DISK_RESERVE_MB | 64                                   | free space below which the embedded add-on server's disk counts as full (pg:info, the apps' logs) |
 * | SLIPWAY_ADDON_DISK_MB    | auto                                      | the add-on servers' own filesystem (DATA/addons.img, loop-mounted at DATA/addons, as root): its size in MB, auto (a quarter of the free disk, 1–100 GB), or 0 for none |
 *
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
