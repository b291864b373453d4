/**
 * The front door: Host → the app's route → one of its web dynos, round-robin, through http-proxy with keep-alive
 * upstream connections. Heroku's behaviour: X-Forwarded-For/Proto/Port, X-Request-Id (kept when the client sends
 * a sane one), Via; a 30 s window for the first response byte (H12); a dyno closing without answering (H13);
 * no web dynos (H14) or only crashed ones (H10); maintenance (H80). Websockets are proxied as upgrades.
 * A connection refused (a dyno going away between two route updates) is retried on the next dyno when the request
 * has no body, so a deploy drops nothing.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { ERRORS, errorBody, type RouterError } from './error-pages.js';
import { normalizeHost } from './host.js';

export interface Endpoint {
  host: string;
  port: number;
  dyno: string;
}

/** Where an app's web dynos are reachable. Endpoints are addresses, never local handles. */
export interface Route {
  appId: string;
  app: string;
  maintenance: boolean;
  endpoints: Endpoint[];
  /** Why there are no endpoints: crashed web dynos (H10), or none running (H14). */
  crashed?: boolean;
}

export interface RouteTable {
  lookup(hostname: string): Route | undefined;
}

export interface RouterOptions {
  routes: RouteTable;
  /** The router's log line for an app's log stream (`at=info method=GET path="/" …`). */
  logLine?: (route: Route, line: string) => void;
  /** The first response byte must arrive within this (Heroku: 30 s). */
  requestTimeoutMs?: number;
  /** The port clients reached the router on, for X-Forwarded-Port. */
  publicPort?: number;
}

const REQUEST_ID = /^[A-Za-z0-9+/=_.-]{20,200}$/;
const RETRYABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

function wantsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

function sendError(req: IncomingMessage, res: ServerResponse, err: RouterError): void {
  if (res.headersSent) return void res.destroy();
  const { type, body } = errorBody(err, wantsJson(req));
  res.writeHead(err.status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '').slice(0, 500)}"`;

export function createRouter(opts: RouterOptions): { server: Server; close(): void } {
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 });
  const proxy = httpProxy.createProxyServer({ agent, xfwd: false, ws: true, changeOrigin: false, proxyTimeout: 0 });
  proxy.on('error', () => undefined); // every call below passes its own error callback
  const cursor = new Map<string, number>();

  const pick = (route: Route, skip: Set<string>): Endpoint | undefined => {
    const n = route.endpoints.length;
    const start = cursor.get(route.appId) ?? 0;
    for (let i = 0; i < n; i++) {
      const e = route.endpoints[(start + i) % n];
      if (skip.has(`${e.host}:${e.port}`)) continue;
      cursor.set(route.appId, (start + i + 1) % n);
      return e;
    }
    return undefined;
  };

  /** Adds Heroku's forwarding headers; returns the request id. */
  function forwardHeaders(req: IncomingMessage): string {
    const client = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const prior = req.headers['x-forwarded-for'];
    req.headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
    req.headers['x-forwarded-proto'] = 'http';
    req.headers['x-forwarded-port'] = String(opts.publicPort ?? req.socket.localPort ?? 80);
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    req.headers['x-request-id'] = id;
    req.headers.via = req.headers.via ? `${String(req.headers.via)}, 1.1 slipway` : '1.1 slipway';
    return id;
  }

  /**
   * Hop-by-hop headers are between the client and the router, not for the dyno. Passing on a client's
   * `Connection: close` would make the dyno close a connection the router keeps in its pool, and the next request
   * on it would fail.
   */
  function stripHopHeaders(req: IncomingMessage): void {
    const named = String(req.headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    for (const h of [...named, 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
      if (h !== 'transfer-encoding') delete req.headers[h];
    }
  }

  function route(req: IncomingMessage): { host: string | undefined; route: Route | undefined } {
    const host = normalizeHost(req.headers.host);
    return { host, route: host ? opts.routes.lookup(host) : undefined };
  }

  const server = createServer((req, res) => {
    const started = Date.now();
    const { host, route: r } = route(req);
    const line = (at: string, fields: string) => r && opts.logLine?.(r, `at=${at} ${fields}`);
    const base = () => `method=${req.method} path=${quote(req.url ?? '/')} host=${host}`;
    if (!r) return sendError(req, res, ERRORS.noSuchApp);
    if (r.maintenance) {
      line('info', `code=H80 desc="${ERRORS.H80.desc}" ${base()} dyno= status=503`);
      return sendError(req, res, ERRORS.H80);
    }
    const requestId = forwardHeaders(req);
    stripHopHeaders(req);
    const noBody = !req.headers['content-length'] && !req.headers['transfer-encoding'];
    const tried = new Set<string>();

    const attempt = (): void => {
      const ep = pick(r, tried);
      if (!ep) {
        const err = tried.size > 0 ? ERRORS.H13 : r.crashed ? ERRORS.H10 : ERRORS.H14;
        line('error', `code=${err.code} desc="${err.desc}" ${base()} request_id=${requestId} dyno= status=${err.status}`);
        return sendError(req, res, err);
      }
      tried.add(`${ep.host}:${ep.port}`);
      let connected = 0;
      let responded = false;
      let errored = false;
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: RouterError) => {
        clearTimeout(timer);
        errored = true;
        line('error', `code=${err.code} desc="${err.desc}" ${base()} request_id=${requestId} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${err.status} bytes=0 protocol=http`);
        sendError(req, res, err);
      };
      proxy.web(req, res, { target: { host: ep.host, port: ep.port } }, (e: NodeJS.ErrnoException) => {
        if (responded) return;
        // Nothing reached the dyno (refused), or a pooled keep-alive connection closed under us as the dyno
        // stopped: a request without a body is safe to send to the next dyno.
        const reset = e.code === 'ECONNRESET' && IDEMPOTENT.has(req.method ?? '');
        if ((RETRYABLE.has(e.code ?? '') || reset) && noBody && !res.headersSent && tried.size < 3) return attempt();
        if (res.headersSent) return void res.destroy();
        if (req.destroyed || res.destroyed) {
          line('error', `code=H27 desc="${ERRORS.H27.desc}" ${base()} request_id=${requestId} dyno=${ep.dyno} status=499`);
          return;
        }
        fail(ERRORS.H13);
      });
      timer = setTimeout(() => {
        if (responded) return;
        responded = true;
        fail(ERRORS.H12);
        // Drop the upstream request: the dyno's late answer has nowhere to go.
        (req as IncomingMessage & { slipwayUpstream?: { destroy(): void } }).slipwayUpstream?.destroy();
      }, timeoutMs);
      (req as IncomingMessage & { slipwayOnResponse?: () => void }).slipwayOnResponse = () => {
        responded = true;
        connected = Date.now() - started;
        clearTimeout(timer);
      };
      res.once('finish', () => {
        clearTimeout(timer);
        if (!errored) {
          line('info', `${base()} request_id=${requestId} fwd=${quote(String(req.headers['x-forwarded-for']))} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${res.statusCode} bytes=${Number(res.getHeader('content-length') ?? 0)} protocol=http`);
        }
      });
      res.once('close', () => clearTimeout(timer));
    };
    attempt();
  });

  proxy.on('proxyReq', (proxyReq, req) => {
    (req as IncomingMessage & { slipwayUpstream?: { destroy(): void } }).slipwayUpstream = proxyReq;
  });
  proxy.on('proxyRes', (_proxyRes, req) => {
    (req as IncomingMessage & { slipwayOnResponse?: () => void }).slipwayOnResponse?.();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { route: r } = route(req);
    socket.on('error', () => undefined);
    const ep = r && !r.maintenance ? pick(r, new Set()) : undefined;
    if (!ep) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    forwardHeaders(req);
    proxy.ws(req, socket, head, { target: { host: ep.host, port: ep.port } }, () => socket.destroy());
  });

  return {
    server,
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}

/** A route table kept in memory, changed app by app (the syncer's deltas). */
export class MemoryRouteTable implements RouteTable {
  private byHost = new Map<string, Route>();
  private hostsOf = new Map<string, string[]>();

  lookup(hostname: string): Route | undefined {
    return this.byHost.get(hostname);
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

