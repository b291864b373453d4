/**
 * The Slipway router alone, for bench/router: one app whose one endpoint is the bench upstream.
 * argv: LISTEN_PORT UPSTREAM_PORT [WORKERS]. With WORKERS > 1 it runs as the router role does in production, a
 * node cluster sharing the port. Each request's log line goes, as in production, through the app log writer
 * into a Redis stream (REDIS_URL, default the local Redis; a key of this run's own, deleted at exit). With
 * BENCH_TLS_PORT, BENCH_TLS_CERT and BENCH_TLS_KEY it also serves TLS there, as the router role does (router/tls.ts,
 * the certificate as the platform's). Prints "ready" once listening (every worker).
 */
import cluster from 'node:cluster';
import { appLogKey, createAppLogWriter } from '../server/logs/app-log.js';
import { createRedis } from '../server/redis.js';
import { MemoryRouteTable } from '../router/routes.js';
import { createRouter } from '../router/server.js';
import { createTlsFront } from '../router/tls.js';
import { readFileSync } from 'node:fs';

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
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  await redis.ping().catch((e: Error) => {
    console.error(`bench/router needs Redis for the router's log lines (REDIS_URL): ${e.message}`);
    process.exit(1);
  });
  const prefix = `slipway-bench-${process.pid}`;
  const logs = createAppLogWriter(redis, prefix, { maxLines: 1500 });
  const router = createRouter({ routes, logLine: (route, line) => logs.write(route.appId, 'slipway', 'router', line) });
  router.server.keepAliveTimeout = 60_000;
  const tlsPort = Number(process.env.BENCH_TLS_PORT ?? 0);
  if (tlsPort) {
    const platform = { cert: readFileSync(process.env.BENCH_TLS_CERT!), key: readFileSync(process.env.BENCH_TLS_KEY!) };
    const tls = createTlsFront({ routes, platform, onSecure: (socket) => (socket.alpnProtocol === 'h2' ? router.serveH2(socket) : router.server.emit('connection', socket)) });
    await new Promise<void>((r) => tls.server.listen(tlsPort, '127.0.0.1', () => r()));
  }
  router.server.listen(listenPort, '127.0.0.1', () => {
    if (cluster.isPrimary) console.log('ready');
  });
  process.on('SIGTERM', () => {
    void logs.close().then(() => redis.del(appLogKey(prefix, 'bench'))).finally(() => process.exit(0));
  });
}
