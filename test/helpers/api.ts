/** A real API (express + services) on port 0 over a fresh database, a temp data dir and a Redis prefix. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../../server/api/create-api.js';
import { configRoutes } from '../../server/config-vars/routes.js';
import { domainRoutes } from '../../server/domains/routes.js';
import { certRoutes } from '../../server/certs/routes.js';
import { featureRoutes } from '../../server/apps/feature-routes.js';
import { acmRoutes } from '../../server/certs/acm-routes.js';
import { addonApi } from '../../server/addons/api.js';
import { loadUrlSigner } from '../../server/services/url-signer.js';
import { openPlatform, type Platform } from '../../server/compose.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { createTestDatabase, createTestRedisPrefix } from './services.js';

export interface TestApi {
  url: string;
  platform: Platform;
  dataDir: string;
  adminToken: string;
  /** A new non-admin user and a token for it. */
  user(email: string, password?: string): Promise<{ token: string; id: string }>;
  request(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDatabase();
  const redis = await createTestRedisPrefix();
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-api-'));
  const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL: redis.url, SLIPWAY_REDIS_PREFIX: redis.prefix, SLIPWAY_DATA_DIR: dataDir, SLIPWAY_ROUTER_PORT: '8080', ...env });
  const platform = await openPlatform(config, { poolSize: 5 });
  const admin = await platform.services.users.ensureAdmin('admin@example.com', 'admin-password', join(dataDir, 'admin-token'));
  const addons = addonApi(platform, await loadUrlSigner(platform.db));
  const api = createApi({
    publicRoutes: addons.publicRoutes,
    ...platform.services,
    urls: platform.urls,
    log: createLogger('api', 'warn'),
    health: async () => ({ ok: true, roles: {} }),
    extraRoutes: [
      configRoutes({ ...platform.services, urls: platform.urls }), domainRoutes({ ...platform.services, urls: platform.urls }), certRoutes(platform.services), featureRoutes(platform.services), acmRoutes({ ...platform.services, urls: platform.urls }), ...addons.routes,
    ],
  });
  const server: Server = createServer(api);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request: TestApi['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { accept: 'application/vnd.heroku+json; version=3', ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    } else if (opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };

  return {
    url,
    platform,
    dataDir,
    adminToken: admin.token!,
    request,
    async user(email, password = 'a-good-password') {
      const u = await platform.services.users.create({ email, password });
      return { token: (await platform.services.users.createToken(u)).token, id: u.id };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await platform.close();
      await db.drop();
      await redis.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
