/** The router's copy of the routes, kept current from a RouteSource (Flynn's syncer). */
import type { MemoryRouteTable } from '../../router/routes.js';
import type { Logger } from '../log.js';
import type { RouteSource } from './route-source.js';

/**
 * Keeps a route table current: subscribe to changes first, then load the whole table, then apply each change as
 * a reload of that app (Flynn's syncer). Changes that arrive during the full load are applied after it. A full
 * reload every 30 s covers a lost message.
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
          const one = await source.loadApp(appId);
          table.setApp(appId, one?.route, one?.hostnames);
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
  const full = async () => table.replaceAll(await source.loadAll());
  await full();
  loading = false;
  for (const appId of pending) await reloadApp(appId);
  const timer = setInterval(() => full().catch((e: Error) => log.warn('route reload failed; serving the last table', { error: e.message })), 30_000);
  return {
    close() {
      clearInterval(timer);
      sub.close();
    },
  };
}
