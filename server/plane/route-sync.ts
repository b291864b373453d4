/** The router's copy of the routes, kept current from a RouteSource (Flynn's syncer). */
import type { MemoryRouteTable } from '../../router/routes.js';
import type { Logger } from '../log.js';
import type { RouteSource } from './route-source.js';

/**
 * Keeps a route table current: subscribe to changes first, then load the whole table, then apply each change as
 * a reload of that app (Flynn's syncer). Changes that arrive during the full load are applied after it. A full
 * reload every 30 s covers a lost message. Each load is acknowledged with the generations read before it, so an
 * agent knows when this router no longer sends to a dyno it is stopping.
 */
export async function startRouteSync(source: RouteSource, table: MemoryRouteTable, log: Logger) {
  let loading = true;
  const pending = new Set<string>();
  // One reload per app at a time, and one more if a change came in meanwhile: two overlapping queries could
  // otherwise land out of order and leave the older answer in the table.
  const inFlight = new Map<string, { dirty: boolean; done: Promise<void> }>();
  const reloadApp = (appId: string): Promise<void> => {
    const current = inFlight.get(appId);
    if (current) {
      current.dirty = true;
      return current.done;
    }
    const state = { dirty: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.dirty = false;
          const gens = await source.generations(appId);
          const one = await source.loadApp(appId);
          table.setApp(appId, one?.route, one?.hostnames);
          await source.applied(gens).catch(() => undefined);
        } while (state.dirty);
      } finally {
        inFlight.delete(appId);
      }
    })();
    inFlight.set(appId, state);
    return state.done;
  };
  const sub = await source.onChange((appId) => {
    if (loading) return void pending.add(appId);
    reloadApp(appId).catch((err: Error) => log.warn('route reload failed', { app: appId, error: err.message }));
  });
  const full = async () => {
    const gens = await source.generations();
    table.replaceAll(await source.loadAll());
    await source.applied(gens).catch(() => undefined);
  };
  await full();
  loading = false;
  for (const appId of pending) await reloadApp(appId);
  const timer = setInterval(() => full().catch((e: Error) => log.warn('route reload failed; serving the last table', { error: e.message })), 30_000);
  // Alive, so agents wait for this router's acknowledgements before they stop a dyno it may still send to.
  await source.alive().catch(() => undefined);
  const beat = setInterval(() => void source.alive().catch(() => undefined), 2_000);
  return {
    close() {
      clearInterval(timer);
      clearInterval(beat);
      sub.close();
      void source.gone().catch(() => undefined);
    },
  };
}
