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
  /** Once the response started, the longest silence from the dyno (Heroku: 55 s, H15). */
  idleTimeoutMs?: number;
  /** The whole request header block must arrive within this (slowloris). */
  headersTimeoutMs?: number;
  /** How long a dyno that refused a connection is passed over. */
  skipFailedMs?: number;
  /** The port clients reached the router on, for X-Forwarded-Port. */
  publicPort?: number;
  /** A bug in the router itself (answered H99). */
  onError?: (e: Error) => void;
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
  const idleMs = opts.idleTimeoutMs ?? 55_000;
  const downMs = opts.skipFailedMs ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 });
  const proxy = httpProxy.createProxyServer({ agent, xfwd: false, ws: true, changeOrigin: false, proxyTimeout: 0 });
  proxy.on('error', () => undefined); // every call below passes its own error callback
  // http-proxy 1.18.1 gives a DELETE or OPTIONS without Content-Length a `Content-Length: 0` and drops
  // Transfer-Encoding, yet still streams the body: the dyno would read those bytes as a second request
  // (smuggling). Without that pass, Node's client frames the body exactly as the client sent it.
  const passes = (proxy as unknown as { webPasses: { name: string }[] }).webPasses;
  const drop = passes.findIndex((f) => f.name === 'deleteLength');
  if (drop < 0) throw new Error('http-proxy changed: its deleteLength pass is gone; review the smuggling guard');
  passes.splice(drop, 1);

  const cursor = new Map<string, number>();
  /** Endpoints that refused a connection lately: skipped for a few seconds unless nothing else is left. */
  const down = new Map<string, number>();

  const pick = (route: Route, tried: Set<string>): Endpoint | undefined => {
    const n = route.endpoints.length;
    const start = cursor.get(route.appId) ?? 0;
    let fallback: { e: Endpoint; i: number } | undefined;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const e = route.endpoints[(start + i) % n];
      const key = `${e.host}:${e.port}`;
      if (tried.has(key)) continue;
      const until = down.get(key);
      if (until !== undefined) {
        if (until > now) {
          fallback ??= { e, i };
          continue;
        }
        down.delete(key);
      }
      cursor.set(route.appId, (start + i + 1) % n);
      return e;
    }
    if (fallback) cursor.set(route.appId, (start + fallback.i + 1) % n);
    return fallback?.e;
  };

  /** Sets Heroku's forwarding headers (replacing whatever the client claimed); returns the request id. */
  function forwardHeaders(req: IncomingMessage): string {
    req.headers['x-forwarded-for'] = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
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

  /** What makes a request ambiguous between the router and a dyno: answered 400, never forwarded. */
  function malformed(req: IncomingMessage): string | undefined {
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === 'host') hosts++;
    if (hosts > 1) return 'more than one Host header';
    if (req.headers['content-length'] !== undefined && req.headers['transfer-encoding'] !== undefined) return 'both Content-Length and Transfer-Encoding';
    const te = req.headers['transfer-encoding'];
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return `Transfer-Encoding "${te.slice(0, 40)}" (only chunked is accepted)`;
    return undefined;
  }

  function route(req: IncomingMessage): { host: string | undefined; route: Route | undefined } {
    const host = normalizeHost(req.headers.host);
    return { host, route: host ? opts.routes.lookup(host) : undefined };
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    const bad = malformed(req);
    if (bad) {
      res.shouldKeepAlive = false;
      return sendError(req, res, { code: 'bad_request', status: 400, desc: `Bad request: ${bad}` });
    }
    const { host, route: r } = route(req);
    const line = (at: string, fields: string) => r && opts.logLine?.(r, `at=${at} ${fields}`);
    const base = () => `method=${req.method} path=${quote(req.url ?? '/')} host=${host}`;
    if (!r) return sendError(req, res, ERRORS.noSuchApp);
    if (r.maintenance) {
      line('info', `code=H80 desc="${ERRORS.H80.desc}" ${base()} dyno= status=503`);
      return sendError(req, res, ERRORS.H80);
    }
    const requestId = forwardHeaders(req);
    (req as Tagged).slipwayClientClose = /\bclose\b/i.test(String(req.headers.connection ?? ''));
    stripHopHeaders(req);
    const noBody = !req.headers['content-length'] && !req.headers['transfer-encoding'];
    const tried = new Set<string>();
    let bytes = 0;

    const attempt = (): void => {
      const ep = pick(r, tried);
      if (!ep) {
        const err = tried.size > 0 ? ERRORS.H13 : r.crashed ? ERRORS.H10 : ERRORS.H14;
        line('error', `code=${err.code} desc="${err.desc}" ${base()} request_id=${requestId} dyno= status=${err.status}`);
        return sendError(req, res, err);
      }
      const key = `${ep.host}:${ep.port}`;
      tried.add(key);
      let connected = 0;
      let responded = false;
      let errored = false;
      let timer: NodeJS.Timeout | undefined;
      const fields = (status: number) =>
        `${base()} request_id=${requestId} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${status} bytes=${bytes} protocol=http`;
      const fail = (err: RouterError) => {
        clearTimeout(timer);
        errored = true;
        line('error', `code=${err.code} desc="${err.desc}" ${fields(err.status)}`);
        sendError(req, res, err);
      };
      /** After the response started, the connection can only be cut: logged with its code, never a second status. */
      const cut = (err: RouterError) => {
        clearTimeout(timer);
        errored = true;
        line('error', `code=${err.code} desc="${err.desc}" ${fields(res.statusCode)}`);
        res.destroy();
      };
      proxy.web(req, res, { target: { host: ep.host, port: ep.port } }, (e: NodeJS.ErrnoException) => {
        if (errored) return;
        if (RETRYABLE.has(e.code ?? '')) down.set(key, Date.now() + downMs);
        if (responded) return res.headersSent ? cut(ERRORS.H18) : fail(ERRORS.H13);
        // Nothing reached the dyno (refused), or a pooled keep-alive connection closed under us as the dyno
        // stopped: a request without a body is safe to send to the next dyno.
        const reset = e.code === 'ECONNRESET' && IDEMPOTENT.has(req.method ?? '');
        if ((RETRYABLE.has(e.code ?? '') || reset) && noBody && !res.headersSent && tried.size < 3) return attempt();
        if (req.destroyed || res.destroyed) {
          errored = true;
          line('error', `code=H27 desc="${ERRORS.H27.desc}" ${fields(499)}`);
          return;
        }
        fail(ERRORS.H13);
      });
      timer = setTimeout(() => {
        if (responded) return;
        responded = true;
        fail(ERRORS.H12);
        // Drop the upstream request: the dyno's late answer has nowhere to go.
        (req as Tagged).slipwayUpstream?.destroy();
      }, timeoutMs);
      (req as Tagged).slipwayOnResponse = (upstream) => {
        responded = true;
        connected = Date.now() - started;
        clearTimeout(timer);
        // H15: once the response started, 55 s without a byte from the dyno ends it.
        let last = Date.now();
        upstream.on('data', (d: Buffer) => {
          bytes += d.length;
          last = Date.now();
        });
        const idle = () => {
          const quiet = Date.now() - last;
          if (quiet < idleMs) timer = setTimeout(idle, idleMs - quiet);
          else {
            cut(ERRORS.H15);
            upstream.destroy();
          }
        };
        timer = setTimeout(idle, idleMs);
      };
      res.once('finish', () => {
        clearTimeout(timer);
        if (!errored) line('info', `${base()} request_id=${requestId} fwd=${quote(String(req.headers['x-forwarded-for']))} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${res.statusCode} bytes=${bytes} protocol=http`);
      });
      res.once('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished && !errored && responded) {
          errored = true;
          line('error', `code=H27 desc="${ERRORS.H27.desc}" ${fields(499)}`);
        }
      });
    };
    attempt();
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      const { route: r } = route(req);
      if (r) opts.logLine?.(r, `at=error code=H99 desc="${ERRORS.H99.desc}" method=${req.method} path=${quote(req.url ?? '/')} status=503`);
      opts.onError?.(e as Error);
      if (!res.headersSent) sendError(req, res, ERRORS.H99);
      else res.destroy();
    }
  });
  // Slowloris: the whole header block within 20 s; bodies may take as long as the dyno reads them.
  server.headersTimeout = opts.headersTimeoutMs ?? 20_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 200;

  proxy.on('proxyReq', (proxyReq, req) => {
    (req as Tagged).slipwayUpstream = proxyReq;
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    // The dyno's hop-by-hop headers describe its connection to the router, not the client's: the client's
    // connection stays open unless the client asked to close it (http-proxy would otherwise copy the dyno's).
    const h = proxyRes.headers;
    for (const name of String(h.connection ?? '').split(',').map((x) => x.trim().toLowerCase()).filter((x) => x && x !== 'transfer-encoding')) delete h[name];
    for (const name of ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']) delete h[name];
    h.connection = (req as Tagged).slipwayClientClose ? 'close' : 'keep-alive';
    (req as Tagged).slipwayOnResponse?.(proxyRes);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (malformed(req)) return refuse('400 Bad Request');
    const { route: r } = route(req);
    if (!r) return refuse('404 Not Found');
    const ep = r.maintenance ? undefined : pick(r, new Set());
    if (!ep) return refuse('503 Service Unavailable');
    const requestId = forwardHeaders(req);
    opts.logLine?.(r, `at=info method=${req.method} path=${quote(req.url ?? '/')} host=${normalizeHost(req.headers.host)} request_id=${requestId} fwd=${quote(String(req.headers['x-forwarded-for']))} dyno=${ep.dyno} status=101 protocol=websocket`);
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

type Tagged = IncomingMessage & { slipwayClientClose?: boolean; slipwayUpstream?: { destroy(): void }; slipwayOnResponse?: (upstream: IncomingMessage) => void };

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

