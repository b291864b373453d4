/**
 * The embedded Redis: a private redis-server on a unix socket in DATA/redis, no TCP port,
 * AOF persistence on so queued jobs survive a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Embedded } from './postgres.js';
import { describeProcess, isAlive, stopChild, waitForExit } from './processes.js';

export async function stopLeftoverRedis(dir: string, log: Logger): Promise<void> {
  const pid = Number((await readFile(join(dir, 'redis.pid'), 'utf8').catch(() => '')).trim());
  if (!pid || !isAlive(pid)) return;
  const info = await describeProcess(pid);
  // Debian's redis-server is a link to redis-check-rdb, so match the family, then prove it is ours by its cwd.
  if (!info || !/\/redis-[a-z-]+$/.test(info.exe) || info.cwd !== dir) return; // not ours: leave it alone
  log.warn('stopping a Redis left running by an earlier start', { pid });
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 15_000))) process.kill(pid, 'SIGKILL');
}

/**
 * Waits until the redis-server child answers PING on its socket (loading the AOF answers LOADING: the data is in
 * once it answers); throws if it exits or has not answered within 30 s (then it is killed).
 */
export async function waitForRedis(child: Pick<ChildProcess, 'exitCode' | 'kill'>, at: { path: string; password?: string }, what: string, logFile: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with status ${child.exitCode} while starting (see ${logFile})`);
    const probe = new Redis({ ...at, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    const ok = await probe.connect().then(() => probe.ping()).then((p) => p === 'PONG', () => false);
    probe.disconnect();
    if (ok) return;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not answer within 30s (see ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * maxMemoryBytes bounds Redis's memory; with noeviction it never evicts anything (queue data least of all): once
 * full, writes fail with an error naming the limit, rather than the machine running out of memory.
 */
export async function startEmbeddedRedis(opts: { dir: string; bin?: string; log: Logger; maxMemoryBytes?: number }): Promise<Embedded> {
  const { dir, log } = opts;
  const bin = opts.bin ?? '/usr/bin/redis-server';
  if (!(await stat(bin).then(() => true, () => false))) {
    throw new Error(`${bin} not found: install Redis (apt-get install redis-server, or npm run setup) or set REDIS_URL`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await stopLeftoverRedis(dir, log);
  const socket = join(dir, 'redis.sock');
  await rm(socket, { force: true });
  const logFile = await open(join(dir, 'redis.log'), 'a', 0o600);
  const child = spawn(
    bin,
    [
      '--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir,
      '--pidfile', join(dir, 'redis.pid'), '--daemonize', 'no',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--maxmemory', String(opts.maxMemoryBytes ?? 512 * 1024 * 1024), '--maxmemory-policy', 'noeviction', '--loglevel', 'warning',
    ],
    { cwd: dir, env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, stdio: ['ignore', logFile.fd, logFile.fd] },
  );
  await logFile.close();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  await waitForRedis(child, { path: socket }, 'redis-server', join(dir, 'redis.log'));
  log.info('embedded Redis ready', { pid: child.pid, socket });
  return {
    url: `unix://${socket}`,
    pid: child.pid!,
    exited,
    stop: () => stopChild(child, exited, 'SIGTERM', 15_000), // redis flushes the AOF on SIGTERM
  };
}
