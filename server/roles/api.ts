import { loadUrlSigner } from '../services/url-signer.js';
import { certRoutes } from '../certs/routes.js';
import { featureRoutes } from '../apps/feature-routes.js';
import { addonApi } from '../addons/api.js';
import { acmRoutes } from '../certs/acm-routes.js';
import { buildpackRegistryRoutes, buildpackRoutes } from '../builds/buildpack-routes.js';
import { mkdir } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createApi } from '../api/create-api.js';
import { buildRoutes, releaseOutputRoutes } from '../builds/routes.js';
import { registryRoutes } from '../images/registry-routes.js';
import { domainRoutes } from '../domains/routes.js';
import { configRoutes } from '../config-vars/routes.js';
import { dynoRoutes, logSessionRoutes } from '../dynos/routes.js';
import { createRedisBuildLog } from '../builds/build-log.js';
import { hookSocketPath, requireUrls, type Platform } from '../compose.js';
import { createGitHandler, PushRegistry } from '../git/git-http.js';
import { isGitPath } from '../git/git-path.js';
import { installAllHooks } from '../git/hooks.js';
import type { Logger } from '../log.js';
import { createReceiveServer } from '../stages/receive.js';
import { turnTaker } from '../db/turn.js';
import { dualProtocolServer, firstByteFront, loadTls } from '../tls.js';
import { capPerAddress } from '../../router/address-cap.js';
import { WEB_DIST } from '../paths.js';
import { UNAVAILABLE_MESSAGES, unavailableBackend } from '../unavailable.js';
import { readHealth } from './heartbeat.js';
import { closeServer, listen } from './listen.js';

/** The api role: REST API, dashboard and git over HTTP on one port; the Receive stage's hook socket. */
export async function startApiRole(p: Platform, log: Logger): Promise<{ server: Server | NetServer; stop(): Promise<void> }> {
  const { databaseUrl } = requireUrls(p.config);
  const buildLog = createRedisBuildLog(p.redis, p.config.redisPrefix);
  const releaseLog = createRedisBuildLog(p.redis, p.config.redisPrefix, {}, 'releaselog');
  const signer = await loadUrlSigner(p.db);
  const urls = { ...p.urls, releaseOutputUrl: (app: string, id: string) => p.urls.publicUrl + signer.sign(`/release-output/${app}/${id}`) };
  const addons = addonApi(p, signer);
  // Backups this process's predecessors were taking when they stopped did not finish: they say so now.
  await p.services.backupStore.failRunning(new Date());
  const pushes = new PushRegistry();
  const socketPath = hookSocketPath(p.config);
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  const receive = createReceiveServer({ socketPath, pushes, builds: p.services.builds, pipeline: p.pipeline, buildLog, takeTurn: turnTaker(databaseUrl), repos: p.services.repos, apps: p.services.apps, log: log.child('receive') });
  await receive.listen();
  const hooks = await installAllHooks(join(p.config.dataDir, 'repos'), socketPath, p.config.maxPushBytes);
  log.debug('hooks installed', { repos: hooks });

  const api = createApi({
    ...p.services,
    urls,
    log,
    health: () => readHealth(p.redis, p.config.redisPrefix),
    dashboardDir: WEB_DIST,
    extraRoutes: [
      buildRoutes({ ...p.services, buildLog, releaseLog, pipeline: p.pipeline, urls }),
      configRoutes({ ...p.services, urls }),
      domainRoutes({ ...p.services, urls }),
      dynoRoutes({ ...p.services, urls }),
      buildpackRoutes(p.services),
      certRoutes(p.services),
      featureRoutes(p.services),
      acmRoutes({ ...p.services, urls }),
      ...addons.routes,
    ],
    publicRoutes: [registryRoutes(p.services), logSessionRoutes(p.services), buildpackRegistryRoutes(), releaseOutputRoutes({ ...p.services, releaseLog, signer }), ...addons.publicRoutes],
  });
  const git = createGitHandler({ ...p.services, reposDir: join(p.config.dataDir, 'repos'), pushes, log: log.child('git') });
  const handler: RequestListener = (req, res) => {
    if (isGitPath(req.url ?? '')) {
      git(req, res).catch((e: Error) => {
        const backend = unavailableBackend(e);
        if (backend) log.warn('git request: backend unavailable', { backend, error: e.message });
        else log.error('git request failed', { error: e.message });
        if (!res.headersSent) res.writeHead(backend ? 503 : 500, { 'content-type': 'text/plain', ...(backend ? { 'retry-after': '2' } : {}) });
        res.end(backend ? `${UNAVAILABLE_MESSAGES[backend]}\n` : 'Internal error\n');
      });
      return;
    }
    api(req, res);
  };
  const server = createServer(handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // git pushes and log streams run long
  const tls = await loadTls(p.config);
  if (!tls) {
    const front = firstByteFront(server);
    capPerAddress(front, p.config.maxConnectionsPerAddress);
    await listen(front, p.config.apiPort, p.config.apiHost);
    log.info('listening', { url: `http://${p.config.apiHost}:${p.config.apiPort}` });
    return {
      server: front,
      async stop() {
        await new Promise((r) => front.close(r));
        await closeServer(server);
        await receive.close();
      },
    };
  } else {
    const dual = dualProtocolServer(server, tls, handler);
    capPerAddress(dual.listener, p.config.maxConnectionsPerAddress);
    await listen(dual.listener, p.config.apiPort, p.config.apiHost);
    const port = (dual.listener.address() as AddressInfo).port;
    log.info('listening', { url: `http://${p.config.apiHost}:${port}`, https: `https://${p.config.apiHost}:${port}`, certificate: tls.certFile });
    return {
      server: dual.listener,
      async stop() {
        await new Promise((r) => dual.listener.close(r));
        await Promise.all([closeServer(server), closeServer(dual.https)]);
        await receive.close();
      },
    };
  }
}
