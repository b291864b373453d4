/**
 * The Slipway router alone, for bench/router: one app whose one endpoint is the bench upstream.
 * argv: LISTEN_PORT UPSTREAM_PORT [WORKERS]. With WORKERS > 1 it runs as the router role does in production, a
 * node cluster sharing the port. Prints "ready" once listening (every worker).
 */
import cluster from 'node:cluster';
import { MemoryRouteTable } from '../router/routes.js';
import { createRouter } from '../router/server.js';

const [listenPort, upstreamPort, workers = 1] = process.argv.slice(2).map(Number);

if (cluster.isPrimary && workers > 1) {
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === workers) console.log('ready');
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const routes = new MemoryRouteTable();
  routes.setApp('bench', { appId: 'bench', app: 'bench', maintenance: false, endpoints: [{ host: '127.0.0.1', port: upstreamPort, dyno: 'web.1' }] }, ['bench.localhost']);
  // The log line is built as in production; where it goes (a Redis stream) is not what is measured here.
  let lines = 0;
  const router = createRouter({ routes, logLine: () => void lines++ });
  router.server.keepAliveTimeout = 60_000;
  router.server.listen(listenPort, '127.0.0.1', () => {
    if (cluster.isPrimary) console.log('ready');
  });
  process.on('SIGTERM', () => process.exit(0));
}
