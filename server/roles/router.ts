import cluster from 'node:cluster';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { MemoryRouteTable } from '../../router/routes.js';
import { createRouter } from '../../router/server.js';
import { createTlsFront } from '../../router/tls.js';
import { capPerAddress } from '../../router/address-cap.js';
import { nodeVersionProblem } from '../../router/node-version.js';
import { loadRouterTls } from '../tls.js';
import { createAppLogWriter } from '../logs/app-log.js';
import { closeServer, listen } from './listen.js';
import { createPgRouteSource } from '../plane/route-source.js';
import { startRouteSync } from '../plane/route-sync.js';

/**
 * The router role. The primary forks one worker per core (SLIPWAY_ROUTER_WORKERS) and replaces any that die;
 * each worker serves the same port with its own route table and sync.
 */
export async function startRouterRole(p: Platform, log: Logger, opts: { requestTimeoutMs?: number } = {}) {
  const unsafe = nodeVersionProblem(process.version);
  if (unsafe) throw new Error(`the router will not start: ${unsafe}`);
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
  const sync = await startRouteSync(createPgRouteSource(p, undefined, (ids) => p.services.sniEndpoints.served(ids)), table, log);
  const logs = createAppLogWriter(p.redis, p.config.redisPrefix, { maxLines: p.config.logLines });
  // The TLS port first (it hands connections to the router made next): its real port is what https-only redirects name.
  let router: ReturnType<typeof createRouter> | undefined;
  const tls = p.config.routerTlsPort === undefined ? undefined : createTlsFront({
    routes: table, platform: await loadRouterTls(p.config), onWarning: (m) => log.warn(m), openKey: (sealed) => p.services.keys.open(sealed),
    onSecure: (socket) => (socket.alpnProtocol === 'h2' ? router!.serveH2(socket) : router!.server.emit('connection', socket)),
  });
  if (tls) capPerAddress(tls.server, p.config.maxConnectionsPerAddress);
  if (tls) await listen(tls.server, p.config.routerTlsPort!, p.config.routerHost);
  router = createRouter({
    routes: table,
    publicPort: p.config.routerPort || undefined,
    publicTlsPort: tls ? (tls.server.address() as { port: number }).port : undefined,
    requestTimeoutMs: opts.requestTimeoutMs,
    covered: tls?.covers,
    logLine: (route, line) => logs.write(route.appId, 'slipway', 'router', line),
    onError: (e) => log.error('router bug (H99)', { error: e.stack ?? e.message }),
    onWarning: (message) => log.warn(message),
  });
  router.server.keepAliveTimeout = 60_000;
  capPerAddress(router.server, p.config.maxConnectionsPerAddress);
  await listen(router.server, p.config.routerPort, p.config.routerHost);
  if (cluster.isPrimary) log.info('listening', { url: `http://${p.config.routerHost}:${p.config.routerPort}`, tls: tls ? (tls.server.address() as { port: number }).port : 'off', workers: 1 });
  const http = router;
  return {
    server: http.server,
    tlsServer: tls?.server,
    async stop() {
      sync.close();
      tls?.server.close();
      await closeServer(http.server, 30_000); // in-flight requests finish (Heroku gives 30 s)
      await http.close();
      await logs.close();
    },
  };
}
