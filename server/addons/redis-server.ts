/**
 * One Redis add-on's server: a redis-server of its own, run as the unprivileged `redis` user, listening on its port
 * of the bridge's gateway address (only dynos of attached apps get through: the network rules) and on a socket in
 * its directory, with a password, maxmemory and maxclients from the plan, and AOF persistence. What would let a
 * tenant reach beyond its own data is turned off: CONFIG (files written anywhere), REPLICAOF/SLAVEOF and MIGRATE
 * (connections from the host to any address), DEBUG, MODULE, ACL. The password is in its config file (mode 0600,
 * the redis user's), never in argv.
 */
import { spawn } from 'node:child_process';
import { chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { Embedded } from '../embedded/postgres.js';
import { stopLeftoverRedis, waitForRedis } from '../embedded/redis.js';
import { stopChild, systemUser } from '../embedded/processes.js';
import type { RedisPlan } from './plans.js';

export const DISABLED_REDIS_COMMANDS = ['CONFIG', 'REPLICAOF', 'SLAVEOF', 'MIGRATE', 'DEBUG', 'MODULE', 'ACL', 'SYNC', 'PSYNC', 'FAILOVER'];

export interface RedisAddonProcess {
  dir: string;
  address: string;
  port: number;
  password: string;
  plan: RedisPlan;
  log: Logger;
  bin?: string;
}

function redisConf(o: RedisAddonProcess): string {
  return [
    `bind ${o.address}`, `port ${o.port}`, 'protected-mode yes', `requirepass ${o.password}`,
    `dir ${o.dir}`, `pidfile ${join(o.dir, 'redis.pid')}`, 'daemonize no', 'loglevel warning',
    `unixsocket ${join(o.dir, 'redis.sock')}`, 'unixsocketperm 700',
    'appendonly yes', 'appendfsync everysec', 'save ""',
    `maxmemory ${o.plan.memoryBytes}`, 'maxmemory-policy noeviction', `maxclients ${o.plan.connections}`,
    ...DISABLED_REDIS_COMMANDS.map((c) => `rename-command ${c} ""`),
    '',
  ].join('\n');
}

export async function startRedisAddon(o: RedisAddonProcess): Promise<Embedded> {
  const bin = o.bin ?? '/usr/bin/redis-server';
  const owner = process.getuid?.() === 0 ? await systemUser('redis') : undefined;
  await mkdir(dirname(o.dir), { recursive: true, mode: 0o711 }); // traversed by the redis user, listed by nobody
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  if (owner) await chown(o.dir, owner.uid, owner.gid);
  await stopLeftoverRedis(o.dir, o.log);
  const socket = join(o.dir, 'redis.sock');
  await rm(socket, { force: true });
  const conf = join(o.dir, 'redis.conf');
  await writeFile(conf, redisConf(o), { mode: 0o600 });
  if (owner) await chown(conf, owner.uid, owner.gid);
  const logFile = await open(join(o.dir, 'redis.log'), 'a', 0o600);
  if (owner) await chown(join(o.dir, 'redis.log'), owner.uid, owner.gid);
  const child = spawn(bin, [conf], {
    cwd: o.dir, env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, stdio: ['ignore', logFile.fd, logFile.fd], ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  await logFile.close();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  await waitForRedis(child, { path: socket, password: o.password }, "a Redis add-on's redis-server", join(o.dir, 'redis.log'));
  return {
    url: `unix://${socket}`,
    pid: child.pid!,
    exited,
    stop: () => stopChild(child, exited, 'SIGTERM', 15_000),
  };
}
