import { Redis, type RedisOptions } from 'ioredis';

/** ioredis options from REDIS_URL: redis://…, rediss://…, unix:///path/redis.sock or a bare /path. */
export function redisOptions(url: string): RedisOptions {
  if (url.startsWith('/')) return { path: url };
  const u = new URL(url);
  if (u.protocol === 'unix:') {
    const db = u.searchParams.get('db');
    return { path: decodeURIComponent(u.pathname), ...(db ? { db: Number(db) } : {}) };
  }
  const opts: RedisOptions = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
  };
  if (u.username) opts.username = decodeURIComponent(u.username);
  if (u.password) opts.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) opts.db = Number(db);
  if (u.protocol === 'rediss:') opts.tls = {};
  return opts;
}

/** A connection that retries forever with a capped delay (a role outlives a Redis restart). */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  const r = new Redis({
    ...redisOptions(url),
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...extra,
  });
  r.on('error', () => {
    /* reported by the callers' failed commands; ioredis reconnects */
  });
  return r;
}

/**
 * What is wrong with a Redis's memory settings for Slipway, if anything: without maxmemory it can take the
 * machine's memory; a policy that evicts keys could drop queued builds. undefined when fine or not readable
 * (CONFIG is often disabled on managed Redis).
 */
export async function redisMemoryProblem(redis: Redis): Promise<string | undefined> {
  let max: string;
  let policy: string;
  try {
    max = ((await redis.config('GET', 'maxmemory')) as string[])[1];
    policy = ((await redis.config('GET', 'maxmemory-policy')) as string[])[1];
  } catch {
    return undefined;
  }
  if (policy !== 'noeviction' && !policy.startsWith('volatile-')) return `Redis evicts any key when full (maxmemory-policy ${policy}): queued builds could be lost; use noeviction`;
  if (Number(max) === 0) return 'Redis has no maxmemory: build logs and app logs can grow until the machine runs out of memory; set maxmemory (with noeviction)';
  return undefined;
}
