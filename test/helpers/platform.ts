/**
 * The api and worker roles in this process, over a fresh database, Redis prefix and data dir: what a push needs.
 * Node and npm downloads go to one cache per machine, so the suite fetches each version once.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openPlatform, type Platform } from '../../server/compose.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { startApiRole } from '../../server/roles/api.js';
import { startWorkerRole } from '../../server/roles/worker.js';
import { startAgentRole } from '../../server/roles/agent.js';
import { startRouterRole } from '../../server/roles/router.js';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { createAppLogWriter } from '../../server/logs/app-log.js';
import { startAddonHost, type AddonHost } from '../../server/addons/host.js';
import { requestWithHost } from './http.js';
import { freePort } from './procs.js';
import { createTestDatabase, createTestRedisPrefix } from './services.js';

const run = promisify(execFile);
export const DOWNLOAD_CACHE = '/var/cache/slipway-test/downloads';
export const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'apps');

export interface TestPlatform {
  url: string;
  platform: Platform;
  dataDir: string;
  home: string;
  /** The one directory host-path buildpacks may come from (SLIPWAY_BUILDPACK_DIRS), mode 0755. */
  buildpackDir: string;
  adminToken: string;
  /** A git work tree of a fixture app with a `slipway` remote for app (credentials in HOME/.netrc). */
  checkout(fixture: string, app: string): Promise<string>;
  /** Creates an app by the API, failing the test unless it is made. */
  createApp(name: string): Promise<void>;
  git(cwd: string, args: string[]): Promise<{ code: number; out: string }>;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** The app's releases (version, status, failure) and the output of the failed ones: for a wait's timeout message. */
  releasesReport(app: string): Promise<string>;
  /** The router's TLS port (with agent and router roles started). */
  routerTlsPort?: number;
  /** The router's URL (with agent and router roles started). */
  routerUrl?: string;
  routerPort?: number;
  /** GET through the router with Host: APP.localhost. */
  get(app: string, path?: string, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }>;
  agent?: { stop(): Promise<void> };
  /** With { addons: true }: the add-on servers' processes. */
  addonHost?: AddonHost;
  close(): Promise<void>;
}

export interface TestPlatformOptions {
  /** Also run the agent (dynos in runc) and the router, in this process. */
  dynos?: boolean;
  /** Also run the add-on host (the add-on PostgreSQL and Redis add-ons), as `slipway up` does. */
  addons?: boolean;
  /** Runs on the new data dir before anything starts (a test mounting a filesystem of its own there). */
  prepare?: (dataDir: string) => Promise<void>;
}

let checkouts = 0;

/** 20 ports for Redis add-ons, starting at a free one. */
async function freeRange(): Promise<string> {
  const first = Math.min(await freePort(), 65_000);
  return `${first}-${first + 19}`;
}

export async function startTestPlatform(env: Record<string, string> = {}, opts: TestPlatformOptions = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const redis = await createTestRedisPrefix();
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-push-'));
  const home = join(dataDir, 'home');
  await mkdir(home);
  await opts.prepare?.(dataDir);
  const buildpackDir = join(dataDir, 'host-buildpacks');
  await mkdir(buildpackDir, { mode: 0o755 });
  await mkdir(DOWNLOAD_CACHE, { recursive: true });
  const config = loadConfig({
    DATABASE_URL: db.url, REDIS_URL: redis.url, SLIPWAY_REDIS_PREFIX: redis.prefix, SLIPWAY_DATA_DIR: dataDir,
    SLIPWAY_API_PORT: '0', SLIPWAY_ROUTER_WORKERS: '1', SLIPWAY_DOWNLOAD_CACHE: DOWNLOAD_CACHE, SLIPWAY_BUILDPACK_DIRS: buildpackDir,
    // Without an agent no dyno could be verified: such a platform (builds only) makes releases count at once.
    ...(opts.addons ? { SLIPWAY_ADDON_POSTGRES_PORT: String(await freePort()), SLIPWAY_ADDON_REDIS_PORTS: await freeRange() } : {}),
    ...(opts.dynos ? { SLIPWAY_ROUTER_PORT: '0', SLIPWAY_ROUTER_TLS_PORT: '0', SLIPWAY_RENDEZVOUS_PORT: '0' } : { SLIPWAY_DEPLOY_VERIFY: 'off' }),
    ...env,
  });
  const platform = await openPlatform(config, { poolSize: 8 });
  const admin = await platform.services.users.ensureAdmin('admin@example.com', undefined, join(dataDir, 'admin-token'));
  const log = createLogger('test', (process.env.TEST_LOG_LEVEL ?? 'warn') as 'warn');
  const api = await startApiRole(platform, log);
  const port = (api.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const addonLogs = opts.addons ? createAppLogWriter(platform.redis, config.redisPrefix) : undefined;
  const addonHost = opts.addons ? await startAddonHost({ config, db: platform.db, keys: platform.services.keys, log, logs: addonLogs }) : undefined;
  const worker = await startWorkerRole(platform, log);
  const agent = opts.dynos ? await startAgentRole(platform, log) : undefined;
  const router = opts.dynos ? await startRouterRole(platform, log, { requestTimeoutMs: Number(env.TEST_ROUTER_TIMEOUT_MS ?? 30_000) }) : undefined;
  const routerPort = router && 'server' in router && router.server ? (router.server.address() as AddressInfo).port : undefined;
  const routerTlsPort = router && 'tlsServer' in router && router.tlsServer ? (router.tlsServer.address() as AddressInfo).port : undefined;
  await writeFile(join(home, '.netrc'), `machine 127.0.0.1\n  login admin@example.com\n  password ${admin.token}\n`, { mode: 0o600 });
  const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

  const git = async (cwd: string, args: string[]) => {
    try {
      const r = await run('git', args, { cwd, env: gitEnv, maxBuffer: 16 << 20 });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : 1, out: (err.stdout ?? '') + (err.stderr ?? '') };
    }
  };

  return {
    url, platform, dataDir, home, buildpackDir, adminToken: admin.token!,
    git, agent, addonHost, routerPort, routerTlsPort, routerUrl: routerPort ? `http://127.0.0.1:${routerPort}` : undefined,
    async get(app, path = '/', headers = {}) {
      if (!routerPort) throw new Error('start the test platform with { dynos: true }');
      return requestWithHost(routerPort, `${app}.localhost`, path, headers);
    },
    async createApp(this: TestPlatform, name: string) {
      const r = await this.api('POST', '/apps', { name });
      if (r.status !== 201) throw new Error(`creating ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async checkout(fixture, app) {
      const dir = join(dataDir, 'src', `${app}-${++checkouts}`);
      await mkdir(join(dataDir, 'src'), { recursive: true });
      await cp(join(FIXTURES, fixture), dir, { recursive: true });
      for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', `${fixture} fixture`], ['remote', 'add', 'slipway', `${url}/${app}.git`]]) {
        const r = await git(dir, args);
        if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.out}`);
      }
      return dir;
    },
    async api(method, path, body, token = admin.token!) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.heroku+json; version=3', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* text */
      }
      return { status: res.status, body: parsed };
    },
    async releasesReport(this: TestPlatform, app: string) {
      const releases = (await this.api('GET', `/apps/${app}/releases`)).body as { version: number; status: string; failure?: string; output_stream_url?: string }[];
      const lines = [];
      for (const r of releases) {
        lines.push(`v${r.version} ${r.status}${r.failure ? `: ${r.failure}` : ''}`);
        if (r.status !== 'failed' || !r.output_stream_url) continue;
        const out = await (await fetch(url + new URL(r.output_stream_url).pathname + new URL(r.output_stream_url).search)).text();
        lines.push(...out.trim().split('\n').slice(-15).map((l) => `  | ${l}`));
      }
      return lines.join('\n');
    },
    async close() {
      await router?.stop();
      await agent?.stop();
      await worker.stop();
      await api.stop();
      await addonHost?.stop();
      await addonLogs?.close();
      await platform.close();
      await db.drop();
      await redis.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
