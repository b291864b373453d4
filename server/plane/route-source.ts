/**
 * The route source: what the router needs from the control plane, behind one small interface. Each app's
 * hostnames and its routable web dynos (up, at an address the agent reported, of its current release), its
 * maintenance flag and its router timeouts; a change notice per app. PostgreSQL + Redis pub/sub in production, an in-memory fake for tests,
 * one conformance suite for both (test/integration/route-source-conformance.test.ts).
 */
import type { Redis } from 'ioredis';
import type { Route, RouteCertificate } from '../../router/routes.js';
import type { Db } from '../db/pool.js';
import { subscribeEvents } from '../events.js';
import { currentReleaseId } from './current-release.js';
import { createRouteAcks, routerWorkerName } from './route-acks.js';

export interface AppRoutes {
  route: Route;
  hostnames: string[];
}

export interface RouteSource {
  loadAll(): Promise<AppRoutes[]>;
  /** One app's routes, or undefined when the app is gone. */
  loadApp(appId: string): Promise<AppRoutes | undefined>;
  /** Calls fn with the id of each app whose routes may have changed; resolves once listening. */
  onChange(fn: (appId: string) => void): Promise<{ close(): void }>;
  /** The route generation of every app (or one) now: read before a load, acknowledged after it. */
  generations(appId?: string): Promise<Map<string, number>>;
  /** This router serves what it loaded after reading these generations (agents drain dynos on it). */
  applied(generations: Map<string, number>): Promise<void>;
  /** This router is alive (called every couple of seconds), or gone for good. */
  alive(): Promise<void>;
  gone(): Promise<void>;
}

/** An app's router timeout config var: whole seconds, 1 to 3600; anything else means the router's default. */
function seconds(value: string | null): number | undefined {
  if (value === null || !/^\d{1,4}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= 1 && n <= 3600 ? n * 1000 : undefined;
}

/**
 * Which of an app's up web dynos take requests: those of its current release; while it has none up (a deploy that
 * was not verified, replacing dynos start-first), those of the newest older release that has some. Dynos of a
 * release not yet current (a deploy being verified) never do.
 */
function routable<T extends { state: string; version: number; address: string | null; port: number | null }>(dynos: T[], current: number | null): T[] {
  const up = dynos.filter((d) => d.state === 'up' && d.address && d.port && current !== null && d.version <= current);
  const newest = Math.max(-1, ...up.map((d) => d.version));
  return up.filter((d) => d.version === newest);
}

/** An app's pending ACME challenges as the route carries them. */
function challengesOf(rows: { app_id: string; token: string; key_authorization: string }[], appId: string): { challenges?: Record<string, string> } {
  const mine = rows.filter((r) => r.app_id === appId);
  return mine.length ? { challenges: Object.fromEntries(mine.map((r) => [r.token, r.key_authorization])) } : {};
}

/** The certificates apps serve over TLS, their keys still sealed, by app id (certs/sni-endpoints.ts). */
export type CertificateSource = (appIds?: string[]) => Promise<Map<string, RouteCertificate[]>>;

async function load(db: Db, appId?: string, certificates?: CertificateSource): Promise<AppRoutes[]> {
  const where = appId ? 'WHERE a.id = $1' : '';
  const args = appId ? [appId] : [];
  const apps = await db.query<{ id: string; name: string; maintenance: boolean; https_only: boolean; hsts: boolean; hostnames: string[]; timeout: string | null; idle: string | null; version: number | null }>(
    `SELECT a.id, a.name, a.maintenance, a.https_only, a.hsts, array_agg(d.hostname) AS hostnames, r.version,
            r.config->>'SLIPWAY_ROUTER_TIMEOUT' AS timeout, r.config->>'SLIPWAY_ROUTER_IDLE_TIMEOUT' AS idle
       FROM apps a JOIN domains d ON d.app_id = a.id
       LEFT JOIN releases r ON r.id = ${currentReleaseId('a.id')}
       ${where} GROUP BY a.id, r.config, r.version`, args);
  const dynos = await db.query<{ app_id: string; name: string; state: string; address: string | null; port: number | null; version: number }>(
    `SELECT d.app_id, d.name, d.state, host(d.address) AS address, d.port, r.version
       FROM dynos d JOIN releases r ON r.id = d.release_id WHERE d.type = 'web' ${appId ? 'AND d.app_id = $1' : ''} ORDER BY d.name`, args);
  const certs = await certificates?.(appId ? [appId] : undefined);
  const challenges = await db.query<{ app_id: string; token: string; key_authorization: string }>(
    `SELECT app_id, token, key_authorization FROM acme_challenges ${appId ? 'WHERE app_id = $1' : ''}`, args);
  return apps.rows.map((a) => {
    const mine = dynos.rows.filter((d) => d.app_id === a.id);
    const endpoints = routable(mine, a.version).map((d) => ({ host: d.address!, port: d.port!, dyno: d.name }));
    const crashed = endpoints.length === 0 && mine.some((d) => d.state === 'crashed' && d.version === a.version);
    return {
      route: {
        appId: a.id, app: a.name, maintenance: a.maintenance, endpoints, crashed, requestTimeoutMs: seconds(a.timeout), idleTimeoutMs: seconds(a.idle),
        ...(certs?.get(a.id)?.length ? { certificates: certs.get(a.id) } : {}),
        ...(a.https_only ? { httpsOnly: true } : {}), ...(a.hsts ? { hsts: true } : {}),
        ...challengesOf(challenges.rows, a.id),
      },
      hostnames: a.hostnames,
    };
  });
}

/** Routes from PostgreSQL; changes from the platform's events (an app, its release or its dynos changed). */
export function createPgRouteSource(
  p: { db: Db; redis: Redis; config: { redisPrefix: string } }, worker = routerWorkerName(), certificates?: CertificateSource,
): RouteSource {
  const acks = createRouteAcks(p.redis, p.config.redisPrefix);
  return {
    loadAll: () => load(p.db, undefined, certificates),
    loadApp: async (appId) => (await load(p.db, appId, certificates))[0],
    onChange: (fn) =>
      subscribeEvents(p.redis, p.config.redisPrefix, (e) => {
        if (e.kind === 'app' || e.kind === 'dynos' || e.kind === 'release') fn(e.appId);
      }),
    generations: (appId) => acks.generations(appId),
    applied: (gens) => acks.applied(worker, gens),
    alive: () => acks.alive(worker),
    gone: () => acks.gone(worker),
  };
}

/** The fake: routes a test sets; each set is a change (and a new generation). */
export class MemoryRouteSource implements RouteSource {
  private readonly apps = new Map<string, AppRoutes>();
  private readonly listeners = new Set<(appId: string) => void>();
  private readonly gens = new Map<string, number>();
  /** What the router acknowledged last, per app. */
  readonly acked = new Map<string, number>();
  beats = 0;

  set(appId: string, routes: AppRoutes | undefined): void {
    if (routes) this.apps.set(appId, structuredClone(routes));
    else this.apps.delete(appId);
    this.gens.set(appId, (this.gens.get(appId) ?? 0) + 1);
    for (const fn of this.listeners) fn(appId);
  }

  async generations(appId?: string): Promise<Map<string, number>> {
    return appId ? new Map([[appId, this.gens.get(appId) ?? 0]]) : new Map(this.gens);
  }

  async applied(gens: Map<string, number>): Promise<void> {
    for (const [appId, gen] of gens) this.acked.set(appId, gen);
  }

  async alive(): Promise<void> {
    this.beats++;
  }

  async gone(): Promise<void> {}

  async loadAll(): Promise<AppRoutes[]> {
    return [...this.apps.values()].map((a) => structuredClone(a));
  }

  async loadApp(appId: string): Promise<AppRoutes | undefined> {
    const a = this.apps.get(appId);
    return a && structuredClone(a);
  }

  async onChange(fn: (appId: string) => void): Promise<{ close(): void }> {
    this.listeners.add(fn);
    return { close: () => void this.listeners.delete(fn) };
  }
}
