import cluster from 'node:cluster';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { createRouterServer, type Route } from '../../router/server.js';
import { closeServer, listen } from './listen.js';

/** Loads the route table from Postgres: each app's hostnames → its route. */
async function loadRoutes(p: Platform): Promise<Map<string, Route>> {
  const r = await p.db.query<{ hostname: string; name: string; maintenance: boolean }>(
    'SELECT d.hostname, a.name, a.maintenance FROM domains d JOIN apps a ON a.id = d.app_id',
  );
  const table = new Map<string, Route>();
  for (const row of r.rows) table.set(row.hostname.toLowerCase(), { app: row.name, maintenance: row.maintenance, endpoints: [] });
  return table;
}

/**
 * The router role. The primary forks one worker per core (SLIPWAY_ROUTER_WORKERS) and replaces any that die;
 * each worker serves the same port.
 */
export async function startRouterRole(p: Platform, log: Logger) {
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
  let table = await loadRoutes(p);
  const refresh = setInterval(() => {
    loadRoutes(p).then((t) => (table = t), (e: Error) => log.warn('route reload failed; serving the last table', { error: e.message }));
  }, 2000);
  const server = createRouterServer({ routes: { lookup: (h) => table.get(h) } });
  server.headersTimeout = 20_000;
  await listen(server, p.config.routerPort, p.config.routerHost);
  if (cluster.isPrimary) log.info('listening', { url: `http://${p.config.routerHost}:${p.config.routerPort}`, workers: 1 });
  return {
    async stop() {
      clearInterval(refresh);
      await closeServer(server);
    },
  };
}
