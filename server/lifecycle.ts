/**
 * What happens to an app, in process, for the features that must act on it: they subscribe here instead of being
 * wired into each other by hand (the app service knows nothing of slugs, build caches or add-ons).
 * - appDestroying: before the app's rows go (what it owns elsewhere is let go, or noted for after); a handler that
 *   fails stops the destroy, which then changes nothing.
 * - appDestroyed: after (its files and streams removed); a handler that fails is logged, the others still run.
 * - releaseCurrent: a deploy made a release its app's current one (the worker: the image push).
 * Handlers run in the order they were added, each awaited.
 */
import type { Logger } from './log.js';

type Handler<E> = (e: E) => Promise<unknown>;

export interface LifecycleEvents {
  appDestroying: { appId: string };
  appDestroyed: { appId: string };
  releaseCurrent: { releaseId: string };
}

export interface Lifecycle {
  on<K extends keyof LifecycleEvents>(kind: K, handler: Handler<LifecycleEvents[K]>): void;
  /** Runs every handler of kind; appDestroying's first failure is thrown, the others' are logged. */
  emit<K extends keyof LifecycleEvents>(kind: K, e: LifecycleEvents[K]): Promise<void>;
}

export function createLifecycle(log?: Logger): Lifecycle {
  const handlers = new Map<keyof LifecycleEvents, Handler<never>[]>();
  return {
    on(kind, handler) {
      handlers.set(kind, [...(handlers.get(kind) ?? []), handler as Handler<never>]);
    },
    async emit(kind, e) {
      for (const h of (handlers.get(kind) ?? []) as Handler<typeof e>[]) {
        if (kind === 'appDestroying') await h(e);
        else await h(e).catch((err: Error) => log?.warn(`${kind}: a handler failed`, { error: err.message }));
      }
    },
  };
}
