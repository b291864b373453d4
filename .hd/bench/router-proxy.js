/**
 * The Slipway router alone, for bench/router: one app whose one endpoint is the bench upstream.
 * argv: LISTEN_PORT UPSTREAM_PORT. Prints "ready" when listening.
 */
import { MemoryRouteTable } from '../router/routes.js';
import { createRouter } from '../router/server.js';
const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const routes = new MemoryRouteTable();
routes.setApp('bench', { appId: 'bench', app: 'bench', maintenance: false, endpoints: [{ host: '127.0.0.1', port: upstreamPort, dyno: 'web.1' }] }, ['bench.localhost']);
// The log line is built as in production; where it goes (a Redis stream) is not what is measured here.
let lines = 0;
const router = createRouter({ routes, logLine: () => void lines++ });
router.server.keepAliveTimeout = 60_000;
router.server.listen(listenPort, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
//# sourceMappingURL=router-proxy.js.map