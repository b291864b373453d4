/**
 * Draining confirmed, not timed: a dyno leaves the routers before it is sent SIGTERM. Every change to an app's
 * routes bumps the app's route generation (events.ts, before the change is announced); each router worker, once it
 * has reloaded an app, acknowledges the generation it read before loading. A dyno has left the routers when every
 * router worker alive (beating in the last few seconds) acknowledged a generation at least that of its removal.
 * All in Redis, so routers and agents on different hosts agree.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

const ALIVE_MS = 6_000;
const KEEP_S = 86_400;

export function createRouteAcks(redis: Redis, prefix: string) {
  const gens = `${prefix}:routegen`;
  const routers = `${prefix}:routers`;
  const acks = (appId: string) => `${prefix}:routeacks:${appId}`;
  return {
    /** The app's routes are about to change: its new generation. */
    bump: (appId: string): Promise<number> => redis.hincrby(gens, appId, 1),
    /** The generations of every app (or one), as they are now: read before loading routes. */
    async generations(appId?: string): Promise<Map<string, number>> {
      if (appId) return new Map([[appId, Number((await redis.hget(gens, appId)) ?? 0)]]);
      return new Map(Object.entries(await redis.hgetall(gens)).map(([k, v]) => [k, Number(v)]));
    },
    /** A router worker serves the routes it loaded after reading these generations. */
    async applied(worker: string, loaded: Map<string, number>): Promise<void> {
      if (loaded.size === 0) return;
      const m = redis.multi();
      for (const [appId, gen] of loaded) m.hset(acks(appId), worker, gen).expire(acks(appId), KEEP_S);
      await m.exec();
    },
    /** A router worker is alive (every couple of seconds). */
    alive: (worker: string) => redis.hset(routers, worker, Date.now()).then(() => undefined),
    gone: (worker: string) => redis.hdel(routers, worker).then(() => undefined),
    /**
     * Resolves once every live router worker serves the app's routes of the current generation or later (true),
     * or when timeoutMs passed first (false: a router that is slow or away is not waited for longer).
     */
    async dropped(appId: string, timeoutMs = 10_000): Promise<boolean> {
      const gen = Number((await redis.hget(gens, appId)) ?? 0);
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [live, seen] = await Promise.all([redis.hgetall(routers), redis.hgetall(acks(appId))]);
        const now = Date.now();
        const waiting = Object.entries(live).filter(([w, at]) => now - Number(at) < ALIVE_MS && Number(seen[w] ?? 0) < gen);
        if (waiting.length === 0) return true;
        if (now > until) return false;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

export type RouteAcks = ReturnType<typeof createRouteAcks>;

/** This router worker's name in the acks: host and pid. */
export const routerWorkerName = (): string => `${hostname()}:${process.pid}`;
