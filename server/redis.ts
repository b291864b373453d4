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
