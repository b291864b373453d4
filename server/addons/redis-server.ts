/**
 * One Redis add-on's server: a redis-server of its own, sandboxed like a dyno. It runs in a runc container of the run
 * stack (read-only; Debian's redis-check-rdb, run as redis-server) as a uid of its own, with nothing of the host but
 * its own directory (/mnt: data, config, socket), a cgroup with its plan's memory (twice maxmemory, for the AOF
 * rewrite's fork) and half a core, Docker's seccomp profile, no capabilities. It shares the host's network only to
 * listen on its port of the bridge's gateway address (only dynos of attached apps get through: the network rules).
 *
 * Inside, what would let a tenant reach beyond its own data is turned off: CONFIG (files written anywhere),
 * REPLICAOF/SLAVEOF and MIGRATE (connections to any address), DEBUG, MODULE, ACL. Clients' output buffers and
 * their memory are bounded by the plan; a Lua script or function past busy-reply-threshold is killed by the add-on
 * host's watch (createScriptWatch). The password is in its config file (mode 0600, the add-on's uid's), never in argv.
 */
import { execFile } from 'node:child_process';
import { chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Embedded } from '../embedded/postgres.js';
import { stopLeftoverRedis, waitForRedis } from '../embedded/redis.js';
import type { Runc } from '../../runner/index.js';
import type { ProcessSpec } from '../../runner/index.js';
import type { RedisPlan } from './plans.js';

export const DISABLED_REDIS_COMMANDS = ['CONFIG', 'REPLICAOF', 'SLAVEOF', 'MIGRATE', 'DEBUG', 'MODULE', 'ACL', 'SYNC', 'PSYNC', 'FAILOVER'];

/** A script or function running longer is killed (its writes, if any, are dropped: the server restarts from its AOF). */
export const SCRIPT_TIME_LIMIT_MS = 5000;
/** The Redis add-ons' uids: this plus their port (each port is one add-on's on the host). */
const ADDON_UID_BASE = 1_900_000_000;
const MB = 1024 ** 2;

export interface RedisAddonProcess {
  dir: string;
  address: string;
  port: number;
  password: string;
  plan: RedisPlan;
  log: Logger;
  /** runc (its own root: the agent never sees these containers) and the run stack the server runs from. */
  sandbox: { runc: Runc; rootfs: string };
}

const run = promisify(execFile);

/** Inside the container, the add-on's directory. */
const IN = '/mnt';

export function redisConf(o: Pick<RedisAddonProcess, 'address' | 'port' | 'password' | 'plan'>): string {
  const clients = Math.max(4 * MB, Math.floor(o.plan.memoryBytes / 2));
  return [
    `bind ${o.address}`, `port ${o.port}`, 'protected-mode yes', `requirepass ${o.password}`,
    `dir ${IN}`, 'daemonize no', 'loglevel warning', 'logfile ""',
    `unixsocket ${IN}/redis.sock`, 'unixsocketperm 700',
    'appendonly yes', 'appendfsync everysec', 'save ""',
    `maxmemory ${o.plan.memoryBytes}`, 'maxmemory-policy noeviction', `maxclients ${o.plan.connections + WATCH_CONNECTIONS}`,
    `maxmemory-clients ${clients}`,
    `client-output-buffer-limit normal ${clients} ${Math.floor(clients / 2)} 60`,
    `client-output-buffer-limit pubsub ${clients} ${Math.floor(clients / 4)} 60`,
    `busy-reply-threshold ${SCRIPT_TIME_LIMIT_MS}`,
    ...DISABLED_REDIS_COMMANDS.map((c) => `rename-command ${c} ""`),
    '',
  ].join('\n');
}

export const redisUid = (port: number) => ADDON_UID_BASE + port;
export const redisContainerId = (dir: string) => `slipway-addon-redis-${dir.split('/').pop()}`;

/** The container's spec: the plan's memory twice over (the AOF rewrite forks), half a core, its dir only. */
export function redisSpec(o: RedisAddonProcess): ProcessSpec {
  const uid = redisUid(o.port);
  const id = redisContainerId(o.dir);
  return {
    id, hostname: 'redis', rootfs: o.sandbox.rootfs, hostNetwork: true,
    binds: [{ source: o.dir, destination: IN, readonly: false }],
    // Debian's redis-server is redis-check-rdb run under another name; the stack has it from redis-tools.
    args: ['/bin/bash', '-c', 'exec -a redis-server /usr/bin/redis-check-rdb "$0"', `${IN}/redis.conf`],
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, cwd: IN, uid, gid: uid,
    memoryBytes: 2 * o.plan.memoryBytes + 64 * MB, cpuShares: 256, cpuCores: 0.5, pidsLimit: 32, tmpBytes: 16 * MB,
    nofile: o.plan.connections + 64, cgroupsPath: `/slipway-addons/${id}`,
  };
}

export async function startRedisAddon(o: RedisAddonProcess): Promise<Embedded> {
  const uid = redisUid(o.port);
  await mkdir(dirname(o.dir), { recursive: true, mode: 0o711 }); // traversed by the add-ons' uids, listed by nobody
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  await chown(o.dir, uid, uid);
  await stopLeftoverRedis(o.dir, o.log); // one run as a host process, before add-ons were sandboxed
  const socket = join(o.dir, 'redis.sock');
  await rm(socket, { force: true });
  const conf = join(o.dir, 'redis.conf');
  await writeFile(conf, redisConf(o), { mode: 0o600 });
  await chown(conf, uid, uid);
  for (const old of ['appendonlydir', 'redis.pid']) await chownTree(join(o.dir, old), uid);
  const logFile = await open(join(o.dir, 'redis.log'), 'a', 0o600);
  const served = await o.sandbox.runc.serve(redisSpec(o), logFile.fd).finally(() => logFile.close());
  const running = { exitCode: null as number | null, kill: () => (void served.stop('KILL', 0), true) };
  void served.exited.then(({ code }) => (running.exitCode = code ?? -1));
  try {
    await waitForRedis(running, { path: socket, password: o.password }, "a Redis add-on's redis-server", join(o.dir, 'redis.log'));
  } catch (e) {
    await served.stop('KILL', 0);
    throw e;
  }
  return { url: `unix://${socket}`, pid: served.pid, exited: served.exited, stop: () => served.stop('TERM', 15_000) };
}

/** Files a server run as another uid left (the shared `redis` user, before each add-on had its own); none: nothing. */
async function chownTree(path: string, uid: number): Promise<void> {
  await run('chown', ['-R', '--no-dereference', `${uid}:${uid}`, path]).catch(() => undefined);
}

/** The watch's own connection, beside the plan's: the server takes one client more than the plan allows. */
export const WATCH_CONNECTIONS = 1;

export interface ScriptWatch {
  /** One look: a server answering BUSY has its script killed, or is restarted; what it did, for the log. */
  check(): Promise<'ok' | 'killed' | 'restarted'>;
  close(): void;
}

/**
 * The add-on host's watch over scripts, on a connection of its own over the server's socket, opened as the server
 * starts and kept (so a tenant holding every connection its plan allows cannot keep the watch out; the server's
 * maxclients has room for it). A server answering BUSY has run a script past busy-reply-threshold: the script is
 * killed (SCRIPT KILL, FUNCTION KILL); one that wrote cannot be, so the server is shut down without saving and
 * started again from its AOF, without the script's writes. The connection comes back when the server does.
 */
export function createScriptWatch(socket: string, password: string): ScriptWatch {
  // No ready check (INFO is answered BUSY while a script runs), no queue while down: a look then finds nothing.
  const r = new Redis({
    path: socket, password, enableReadyCheck: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 2000,
    retryStrategy: () => 200,
  });
  r.on('error', () => undefined);
  return {
    async check() {
      if (r.status !== 'ready' && r.status !== 'connect') return 'ok'; // down or starting: keepEmbedded's business
      const busy = await r.ping().then(() => false, (e: Error) => /^BUSY/.test(e.message));
      if (!busy) return 'ok';
      const killed = await r.call('SCRIPT', 'KILL').then(() => true, () => false) || await r.call('FUNCTION', 'KILL').then(() => true, () => false);
      if (killed) return 'killed';
      await r.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      return 'restarted';
    },
    close: () => r.disconnect(),
  };
}
