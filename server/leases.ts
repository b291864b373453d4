/**
 * Leases: at most `max` holders of a key at once, each for a time it renews while it holds its place (a holder that
 * dies loses it when the time runs out). In Redis, a sorted set per key (holder → expiry, by Redis's own clock), taken
 * and renewed by one script, so every worker process on every host sees the same places. What keeps one tenant from
 * taking every slot of a queue (queue.ts); it holds no database connection.
 */
import type { Redis } from 'ioredis';

const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], expiry, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`;

export interface Lease {
  /** Gives the place back (and stops renewing it). */
  give(): Promise<void>;
}

export interface Leases {
  /** A place under key for holder, if fewer than max hold one (a holder asking again keeps its place). */
  take(key: string, holder: string, max: number): Promise<Lease | undefined>;
}

export function createLeases(redis: Redis, prefix: string, ttlMs = 30_000): Leases {
  const full = (key: string) => `${prefix}:lease:${key}`;
  const takeOnce = async (key: string, holder: string, max: number) =>
    (await redis.eval(TAKE, 1, full(key), holder, String(max), String(ttlMs))) === 1;
  return {
    async take(key, holder, max) {
      if (!(await takeOnce(key, holder, max))) return undefined;
      // Renewed at a third of its time; a renewal lost to a Redis blip is made good by the next.
      const timer = setInterval(() => void takeOnce(key, holder, Number.MAX_SAFE_INTEGER).catch(() => undefined), ttlMs / 3);
      timer.unref();
      return {
        async give() {
          clearInterval(timer);
          await redis.zrem(full(key), holder);
        },
      };
    },
  };
}
