import cluster from 'node:cluster';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { MemoryRouteTable, type Route } from '../../router/routes.js';
import { createRouter } from '../../router/server.js';
import { subscribeEvents } from '../events.js';
import { createAppLogWriter } from '../logs/app-log.js';
import { closeServer, listen } from './listen.js';

type AppRoutes = { route: Route; hostnames: string[] };

/** An app's router timeout config var: whole seconds, 1 to 3600; anything else means the router's default. */
function seconds(value: string | null): number | undefined {
  if (value === null || !/^\d{1,4}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= 1 && n <= 3600 ? n * 1000 : undefined;
}

/** Each app's hostnames and its routable web dynos (state up, with an address); one app or all. */
export async function loadRoutes(p: Pick<Platform, 'db'>, appId?: string): Promise<AppRoutes[]> {
  const where = appId ? 'WHERE a.id = $1' : '';
  const args = appId ? [appId] : [];
  const apps = await p.db.query<{ id: string; name: string; maintenance: boolean; hostnames: string[]; timeout: string | null; idle: string | null }>(
    `SELECT a.id, a.name, a.maintenance, array_agg(d.hostname) AS hostnames,
            r.config->>'SLIPWAY_ROUTER_TIMEOUT' AS timeout, r.config->>'SLIPWAY_ROUTER_IDLE_TIMEOUT' AS idle
       FROM apps a JOIN domains d ON d.app_id = a.id
       LEFT JOIN LATERAL (SELECT config FROM releases WHERE app_id = a.id AND status = 'succeeded' ORDER BY version DESC LIMIT 1) r ON true
       ${where} GROUP BY a.id, r.config`, args);
  const dynos = await p.db.query<{ app_id: string; name: string; state: string; address: string | null; port: number | null }>(
    `SELECT app_id, name, state, host(address) AS address, port FROM dynos WHERE type = 'web' ${appId ? 'AND app_id = $1' : ''} ORDER BY name`, args);
  return apps.rows.map((a) => {
    const mine = dynos.rows.filter((d) => d.app_id === a.id);
    const endpoints = mine.filter((d) => d.state === 'up' && d.address && d.port).map((d) => ({ host: d.address!, port: d.port!, dyno: d.name }));
    return {
      route: {
        appId: a.id, app: a.name, maintenance: a.maintenance, endpoints, crashed: endpoints.length === 0 && mine.some((d) => d.state === 'crashed'),
        requestTimeoutMs: seconds(a.timeout), idleTimeoutMs: seconds(a.idle),
      },
      hostnames: a.hostnames,
    };
  });
}

/**
 * Keeps a route table current: subscribe to changes first, then load the whole table, then apply each change as
 * a reload of that app (Flynn's syncer). Changes that arrive during the full load are applied after it. A full
 * reload every 30 s covers a lost message.
 */
export async function startRouteSync(p: Pick<Platform, 'db' | 'redis' | 'config'>, table: MemoryRouteTable, log: Logger) {
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
          const [one] = await loadRoutes(p, appId);
          table.setApp(appId, one?.route, one?.hostnames);
        } while (state.dirty);
      } finally {
        inFlight.delete(appId);
      }
    })();
    inFlight.set(appId, state);
    return state.done;
  };
  const sub = await subscribeEvents(p.redis, p.config.redisPrefix, (e) => {
    if (e.kind !== 'app' && e.kind !== 'dynos' && e.kind !== 'release') return;
    if (loading) return void pending.add(e.appId);
    reloadApp(e.appId).catch((err: Error) => log.warn('route reload failed', { app: e.appId, error: err.message }));
  });
  const full = async () => table.replaceAll(await loadRoutes(p));
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

/**
 * The router role. The primary forks one worker per core (SLIPWAY_ROUTER_WORKERS) and replaces any that die;
 * each worker serves the same port with its own route table and sync.
 */
export async function startRouterRole(p: Platform, log: Logger, opts: { requestTimeoutMs?: number } = {}) {
  if (cluster.isPrimary && p.config.routerWorkers > 1) {
    let stopping = false;
    const fork = () => cluster.fork();
    cluster.on('exit', (w, code, signal) => {
      if (stopping) return;
      log.warn('router worker exited; replacing it', { pid: w.process.pid, code, signal });
      setTimeout(fork, 500);
    });
    for (let i = 0; i < p.config.routerWorkers; i++) fork();
    await new Promise<void>((resolve) => cluster.once('listening', () => resolve()));
    log.info('listening', { url: `http://${p.config.routerHost}:${p.config.routerPort}`, workers: p.config.routerWorkers });
    return {
      async stop() {
        stopping = true;
        await new Promise<void>((resolve) => cluster.disconnect(() => resolve()));
      },
    };
  }
  const table = new MemoryRouteTable();
  const sync = await startRouteSync(p, table, log);
  const logs = createAppLogWriter(p.redis, p.config.redisPrefix, { maxLines: p.config.logLines });
  const router = createRouter({
    routes: table,
    publicPort: p.config.routerPort || undefined,
    requestTimeoutMs: opts.requestTimeoutMs,
    logLine: (route, line) => logs.write(route.appId, 'slipway', 'router', line),
    onError: (e) => log.error('router bug (H99)', { error: e.stack ?? e.message }),
    onWarning: (message) => log.warn(message),
  });
  router.server.keepAliveTimeout = 60_000;
  await listen(router.server, p.config.routerPort, p.config.routerHost);
  if (cluster.isPrimary) log.info('listening', { url: `http://${p.config.routerHost}:${p.config.routerPort}`, workers: 1 });
  return {
    server: router.server,
    async stop() {
      sync.close();
      await closeServer(router.server, 30_000); // in-flight requests finish (Heroku gives 30 s)
      await router.close();
      await logs.close();
    },
  };
}
