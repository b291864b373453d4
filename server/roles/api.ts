import { createServer, type Server } from 'node:http';
import { createApi } from '../api/create-api.js';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { readHealth } from './heartbeat.js';
import { listen, closeServer } from './listen.js';

/** The api role: REST API, dashboard and (later stages) git over HTTP on one port. */
export async function startApiRole(p: Platform, log: Logger): Promise<{ server: Server; stop(): Promise<void> }> {
  const api = createApi({
    ...p.services,
    urls: p.urls,
    log,
    health: () => readHealth(p.redis, p.config.redisPrefix),
  });
  const server = createServer(api);
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // git pushes and log streams run long
  await listen(server, p.config.apiPort, p.config.apiHost);
  log.info('listening', { url: `http://${p.config.apiHost}:${p.config.apiPort}` });
  return { server, stop: () => closeServer(server) };
}
