/**
 * Platform events over Redis pub/sub: one channel, small JSON messages naming what changed. The agent reconciles
 * on them (a release, the formation, a restart), the router reloads an app's routes, the dashboard refreshes.
 * Messages are hints: every subscriber also reconciles or reloads on its own timer, so a lost message only delays.
 */
import type { Redis } from 'ioredis';
import { createRouteAcks } from './plane/route-acks.js';

export type PlatformEvent =
  | { kind: 'app'; appId: string } // created, renamed, maintenance, destroyed, domains
  | { kind: 'release'; appId: string }
  | { kind: 'formation'; appId: string }
  | { kind: 'restart'; appId: string; type?: string; name?: string }
  | { kind: 'stop'; appId: string; type?: string; name?: string } // ps:stop: one-offs end, formation dynos restart
  | { kind: 'dynos'; appId: string } // a dyno's state changed (the router's endpoints)
  | { kind: 'run'; appId: string; dynoId: string }; // a detached one-off to start

export const eventsChannel = (prefix: string) => `${prefix}:events`;

export interface EventBus {
  publish(e: PlatformEvent): Promise<void>;
}

/** Kinds that change an app's routes: their generation is bumped before they are announced (route-acks.ts). */
const ROUTING = new Set<PlatformEvent['kind']>(['app', 'release', 'dynos']);

export function createEventBus(redis: Redis, prefix: string): EventBus {
  const acks = createRouteAcks(redis, prefix);
  return {
    async publish(e) {
      if (ROUTING.has(e.kind)) await acks.bump(e.appId).catch(() => undefined);
      await redis.publish(eventsChannel(prefix), JSON.stringify(e)).catch(() => undefined);
    },
  };
}

/** Subscribes on a connection of its own; resolves once the subscription is active. */
export async function subscribeEvents(redis: Redis, prefix: string, onEvent: (e: PlatformEvent) => void): Promise<{ close(): void }> {
  const sub = redis.duplicate();
  sub.on('error', () => undefined);
  sub.on('message', (_channel: string, message: string) => {
    try {
      const e = JSON.parse(message) as PlatformEvent;
      if (e && typeof e.kind === 'string' && typeof e.appId === 'string') onEvent(e);
    } catch {
      /* not ours */
    }
  });
  await sub.subscribe(eventsChannel(prefix));
  return { close: () => sub.disconnect() };
}
