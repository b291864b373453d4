/**
 * Routes: where an app's web dynos are reachable, and the table from hostnames to apps that the router reads on
 * every request (kept current by server/roles/router.ts from Postgres and pub/sub).
 */
export interface Endpoint {
  host: string;
  port: number;
  dyno: string;
}

/** A certificate the router serves over TLS for some of an app's hostnames (the key in the clear, in memory only). */
/** A private key as the platform keeps it (sealed by its KeyBox). */
export interface SealedKey {
  sealed: string;
}

export interface RouteCertificate {
  id: string;
  /** Changes when the certificate does (its secure context is made again). */
  version: string;
  chain: string;
  /**
   * Its private key: as PEM, or still sealed (the platform's routes), opened by the TLS front only when a handshake
   * first asks for this certificate, so a reload opens none and a worker opens only what it serves.
   */
  key: string | SealedKey;
  /** The DNS names it covers. */
  names: string[];
  /** The app's hostnames it is associated with (lowercase). */
  serves: string[];
}

/** Where an app's web dynos are reachable. Endpoints are addresses, never local handles. */
export interface Route {
  appId: string;
  app: string;
  maintenance: boolean;
  endpoints: Endpoint[];
  /** Why there are no endpoints: crashed web dynos (H10), or none running (H14). */
  crashed?: boolean;
  /** This app's own limits (its SLIPWAY_ROUTER_TIMEOUT / SLIPWAY_ROUTER_IDLE_TIMEOUT config vars), else the router's. */
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Its certificates, for the TLS port's SNI. */
  certificates?: RouteCertificate[];
  /** Plain HTTP requests are redirected to https (its https-only feature). */
  httpsOnly?: boolean;
  /** Responses over TLS carry Strict-Transport-Security (its hsts feature). */
  hsts?: boolean;
  /** ACME HTTP-01 challenges for its hostnames: token → key authorization (answered at /.well-known/acme-challenge/). */
  challenges?: Record<string, string>;
}

export interface RouteTable {
  lookup(hostname: string): Route | undefined;
}

/** A route table kept in memory, changed app by app (the syncer's deltas). */
export class MemoryRouteTable implements RouteTable {
  private byHost = new Map<string, Route>();
  private hostsOf = new Map<string, string[]>();

  /** An exact name first, then a wildcard one level up (`*.example.com` serves `www.example.com`, not `a.b.example.com`). */
  lookup(hostname: string): Route | undefined {
    const exact = this.byHost.get(hostname);
    if (exact) return exact;
    const dot = hostname.indexOf('.');
    return dot > 0 ? this.byHost.get(`*${hostname.slice(dot)}`) : undefined;
  }

  /** Sets an app's route and hostnames; undefined removes the app. */
  setApp(appId: string, route: Route | undefined, hostnames: string[] = []): void {
    for (const h of this.hostsOf.get(appId) ?? []) this.byHost.delete(h);
    this.hostsOf.delete(appId);
    if (!route) return;
    const hosts = hostnames.map((h) => h.toLowerCase());
    for (const h of hosts) this.byHost.set(h, route);
    this.hostsOf.set(appId, hosts);
  }

  replaceAll(apps: { route: Route; hostnames: string[] }[]): void {
    this.byHost.clear();
    this.hostsOf.clear();
    for (const a of apps) this.setApp(a.route.appId, a.route, a.hostnames);
  }

  get size(): number {
    return this.hostsOf.size;
  }
}

