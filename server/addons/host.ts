/**
 * The add-on host: what `slipway up` (and a test platform) runs besides the roles when add-ons are embedded. The
 * add-on PostgreSQL, a cluster of its own in DATA/addons/postgres listening on the bridge's gateway address (and
 * its admin socket), and a redis-server for each Redis add-on, started as add-ons appear, stopped and removed as
 * they go. Each one that exits is started again (keepEmbedded), on the same address, with its data. Their data is on
 * a filesystem of its own (addon-disk.ts).
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { EMBEDDED_DB, EMBEDDED_USER, startEmbeddedPostgres } from '../embedded/postgres.js';
import type { Logger } from '../log.js';
import type { KeyBox } from '../services/key-box.js';
import { keepEmbedded, type KeptEmbedded } from '../up/keep-embedded.js';
import { ensureBridge, intToIp, parseSubnet } from '../../runner/index.js';
import { planOf, type RedisPlan } from './plans.js';
import { createScriptWatch, SCRIPT_TIME_LIMIT_MS, startRedisAddon, type ScriptWatch } from './redis-server.js';
import { createRunc, type Runc } from '../../runner/index.js';
import { ensureStack } from '../../runner/index.js';
import { addonServers, addonsDir, embeddedAddonPostgresDir, embeddedAddonPostgresUrl } from './servers.js';
import { createAddonStore } from './store.js';
import { mountAddonDisk } from './addon-disk.js';
import { createStorageWatch } from './storage-watch.js';
import type { PostgresAddonServer } from './postgres-server.js';
import { startPeriodicJobs, type PeriodicJob } from '../jobs.js';
import type { AppLogWriter } from '../logs/app-log.js';

const RECONCILE_MS = 1000;
const SCRIPT_WATCH_MS = 1000;
/** The add-on PostgreSQL's OS user: never `postgres`, whose trust socket is the platform's own database. */
export const ADDON_POSTGRES_USER = 'slipway-addon-pg';

export interface AddonHost {
  /** The add-on PostgreSQL's postmaster, and each running Redis add-on's server by add-on id (for the fault tests). */
  pids(): { postgres?: number; redis: Record<string, number | undefined> };
  stop(): Promise<void>;
}

/**
 * The admin (the platform's own role) over the socket without a password (the socket's directory is the server's
 * OS user's, mode 0700: only root gets in); a tenant role, by password, only into the database of its name: from the
 * dyno network, and over the socket (the platform's backups and table counts, which run as the tenant).
 */
export function addonHba(subnet: string): string {
  return [`local all ${EMBEDDED_USER} trust`, 'local sameuser all scram-sha-256', `host sameuser all ${subnet} scram-sha-256`, ''].join('\n');
}

async function startAddonPostgres(config: Config, log: Logger): Promise<KeptEmbedded> {
  const s = parseSubnet(config.subnet);
  const subnet = `${intToIp(s.base)}/${s.prefix}`;
  return keepEmbedded('add-on PostgreSQL', async () => {
    const e = await startEmbeddedPostgres({
      dir: embeddedAddonPostgresDir(config), binDir: config.pgBinDir, asRoot: config.isRoot, log, label: 'add-on PostgreSQL',
      listen: { address: s.gateway, port: config.addons.postgresPort }, hba: addonHba(subnet), osUser: ADDON_POSTGRES_USER,
      // A failed CREATE ROLE … PASSWORD must not land in the server's log with its statement. Room for every plan's
      // connections (the server refuses a plan whose connections would not fit beside the others').
      settings: { log_min_error_statement: 'panic', max_connections: '1000' },
    });
    // No add-on role may open the server's own databases (pg_hba refuses it too).
    const admin = new pg.Client({ connectionString: embeddedAddonPostgresUrl(config).replace('/slipway?', '/postgres?') });
    try {
      await admin.connect();
      await admin.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${EMBEDDED_DB} FROM PUBLIC`);
    } finally {
      await admin.end().catch(() => undefined);
    }
    // Said at start; making a database checks again and refuses on a server that falls short (postgres-server.ts).
    await addonServers(config).postgres!.harden().then((check) => {
      for (const f of check.fixed) log.warn(`add-on PostgreSQL: ${f}`);
      for (const p of check.problems) log.error(`add-on PostgreSQL is not safe for tenants: ${p}`);
    }, (err: Error) => log.error('add-on PostgreSQL: its rules could not be checked', { error: err.message }));
    return e;
  }, log);
}

/** Redis add-ons run in runc containers of the run stack, under a runc root of their own (the agent never sees them). */
async function redisSandbox(config: Config, log: Logger): Promise<{ runc: Runc; rootfs: string }> {
  const rootfs = await ensureStack(config.stacksDir, 'run', { log: (l) => log.info(l) });
  return { rootfs, runc: createRunc({ root: join(addonsDir(config), 'runc'), bundles: join(addonsDir(config), 'bundles') }) };
}

/** Every SLIPWAY_ADDON_WATCH_INTERVAL, the storage watch (storage-watch.ts), when there is a PostgreSQL server. */
function storageWatchJob(config: Config, server: PostgresAddonServer | undefined, store: ReturnType<typeof createAddonStore>, logs: AppLogWriter | undefined, log: Logger): PeriodicJob[] {
  if (!server || !logs) return [];
  const watch = createStorageWatch({
    store, server, logs, log, reserveBytes: config.addons.diskReserveBytes,
    dataDir: config.addons.postgres === 'embedded' ? embeddedAddonPostgresDir(config) : undefined,
  });
  return [{ name: 'the add-on storage watch', everyMs: config.addons.watchMs, run: () => watch.check() }];
}

export async function startAddonHost(o: { config: Config; db: Db; keys: KeyBox; log: Logger; logs?: AppLogWriter }): Promise<AddonHost> {
  const { config, log } = o;
  const servers = addonServers(config);
  const store = createAddonStore(o.db);
  const redis = new Map<string, { kept: KeptEmbedded; resource: string; name: string; watch: ScriptWatch }>();
  let postgres: KeptEmbedded | undefined;
  let stopping = false;

  await ensureBridge({ bridge: config.bridge, subnet: config.subnet, nat: config.nat });
  const ownDisk = config.isRoot && config.addons.diskSize !== 0 && (config.addons.postgres === 'embedded' || servers.redis)
    ? await mountAddonDisk(addonsDir(config), config.addons.diskSize, log) : undefined;
  // The postgres and redis users traverse the data dir and DATA/addons to their own directories; nobody lists them.
  await mkdir(addonsDir(config), { recursive: true, mode: 0o711 });
  for (const d of [config.dataDir, addonsDir(config)]) await chmod(d, 0o711);
  if (config.addons.postgres === 'embedded') postgres = await startAddonPostgres(config, log);
  const sandbox = servers.redis ? await redisSandbox(config, log) : undefined;

  async function reconcile(): Promise<void> {
    if (!servers.redis || !sandbox || stopping) return;
    const rows = await store.redisToRun();
    const wanted = new Set(rows.map((r) => r.id));
    for (const row of rows) {
      if (redis.has(row.id) || stopping) continue;
      const password = await o.keys.open(row.password_sealed);
      const dir = servers.redis.dirOf(row.resource);
      const plan = planOf('redis', row.plan) as RedisPlan;
      try {
        const kept = await keepEmbedded(`Redis add-on ${row.name}`, () => startRedisAddon({ dir, address: row.host, port: row.port, password, plan, log, sandbox }), log);
        redis.set(row.id, { kept, resource: row.resource, name: row.name, watch: createScriptWatch(join(dir, 'redis.sock'), password) });
        if (row.state === 'provisioning') await store.setState(row.id, 'provisioned');
        log.info('Redis add-on running', { addon: row.name, port: row.port });
      } catch (e) {
        log.error('a Redis add-on did not start; trying again', { addon: row.name, error: (e as Error).message });
      }
    }
    for (const [id, r] of redis) {
      if (wanted.has(id)) continue;
      redis.delete(id);
      r.watch.close();
      await r.kept.stop();
      await rm(servers.redis.dirOf(r.resource), { recursive: true, force: true });
      log.info('Redis add-on removed', { id });
    }
    // Directories of add-ons destroyed while the host was down.
    const known = new Set(rows.map((r) => r.resource));
    const root = join(addonsDir(config), 'redis');
    for (const d of await readdir(root).catch(() => [] as string[])) {
      if (!known.has(d) && /^d[0-9a-f]{20}$/.test(d)) await rm(join(root, d), { recursive: true, force: true });
    }
  }

  /** Scripts past their time are killed (redis-server.ts); the attached apps' logs say so. */
  async function watchRedisScripts(): Promise<void> {
    for (const [id, r] of redis) {
      const did = await r.watch.check();
      if (did === 'ok') continue;
      log.warn('a Redis add-on ran a script past its time limit', { addon: r.name, action: did });
      const what = did === 'killed' ? 'the script was killed' : 'it had written, so the server was restarted from its last write before the script';
      for (const t of await store.attachmentsOfAddon(id)) {
        o.logs?.write(t.app_id, 'app', 'heroku-redis', `source=${t.name} addon=${r.name} Error: a Lua script or function ran past ${SCRIPT_TIME_LIMIT_MS / 1000} s: ${what}`);
      }
    }
  }

  // The add-on servers that should run do before this returns; then the add-on host's periodic jobs, all of them.
  await reconcile().catch((e: Error) => log.error('add-on host: reconcile failed', { error: e.message }));
  const jobs = startPeriodicJobs([
    { name: 'add-on host: reconcile', everyMs: RECONCILE_MS, firstAfterMs: RECONCILE_MS, run: reconcile },
    { name: 'add-on host: script watch', everyMs: SCRIPT_WATCH_MS, run: watchRedisScripts },
    ...storageWatchJob(config, servers.postgres, store, o.logs, log),
  ], log);

  return {
    pids: () => ({ postgres: postgres?.pid(), redis: Object.fromEntries([...redis].map(([id, r]) => [id, r.kept.pid()])) }),
    async stop() {
      stopping = true;
      await jobs.stop();
      for (const r of redis.values()) {
        r.watch.close();
        await r.kept.stop();
      }
      await postgres?.stop();
      await ownDisk?.unmount();
    },
  };
}
