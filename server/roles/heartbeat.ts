import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { ROLES } from '../config.js';
import type { HealthReport } from '../api/create-api.js';

const INTERVAL_MS = 2000;
const STALE_MS = 7000;

const key = (prefix: string) => `${prefix}:roles`;

/** Each role writes `role@host` → {pid, at} into one Redis hash every 2 s while it is up. */
export function startHeartbeat(redis: Redis, prefix: string, role: string): { stop(): Promise<void> } {
  const field = `${role}@${hostname()}`;
  const beat = () =>
    redis.hset(key(prefix), field, JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now() })).catch(() => undefined);
  void beat();
  const timer = setInterval(beat, INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.hdel(key(prefix), field).catch(() => undefined);
    },
  };
}

/** Every role's state: up when any instance beat within the last 7 s. All up → ok. */
export async function readHealth(redis: Redis, prefix: string): Promise<HealthReport> {
  const all = await redis.hgetall(key(prefix));
  const roles: HealthReport['roles'] = {};
  for (const role of ROLES) roles[role] = { state: 'down' };
  const now = Date.now();
  for (const [field, value] of Object.entries(all)) {
    const role = field.split('@')[0];
    if (!(role in roles)) continue;
    try {
      const beat = JSON.parse(value) as { pid: number; host: string; at: number };
      if (now - beat.at < STALE_MS) roles[role] = { state: 'up', pid: beat.pid, host: beat.host, seen_at: new Date(beat.at).toISOString() };
    } catch {
      /* a malformed beat counts as down */
    }
  }
  return { ok: Object.values(roles).every((r) => r.state === 'up'), roles };
}
