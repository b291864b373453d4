/**
 * The front door: Host → the app's route → one of its web dynos, round-robin, over a keep-alive connection pool
 * per dyno (undici: bench/router measured it about 2.5x http-proxy's throughput on this machine; http-proxy still
 * tunnels websockets and other upgrades). Heroku's behaviour: X-Forwarded-For/Proto/Port set by the router,
 * X-Request-Id (kept when the client sends a sane one), Via; 30 s to the first response byte (H12), 55 s of
 * silence after it (H15); a dyno closing without answering (H13) or mid-response (H18); no web dynos (H14) or
 * only crashed ones (H10); maintenance (H80); a client leaving early (H27). A refused connection (a dyno going
 * away between two route updates) is retried on the next dyno when the request has no body, so a deploy drops
 * nothing, and that dyno is passed over for a few seconds.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { Pool, type Dispatcher } from 'undici';
import { ERRORS, errorBody, type RouterError } from './error-pages.js';
import { normalizeHost } from './host.js';
import type { Endpoint, Route, RouteTable } from './routes.js';

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
/** Connect failures: nothing reached the dyno, so any request may go to the next one. */
const RETRYABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Forwarding headers the router sets; a client's own are dropped. */
const SET_BY_ROUTER = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-request-id', 'via']);
const connectionNames = (value: string) => new Set(value.toLowerCase().split(',').map((h) => h.trim()).filter(Boolean));
/** Headers about one connection, never forwarded either way (undici also refuses most of them). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

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

export function createRouter(opts: RouterOptions): { server: Server; close(): Promise<void> } {
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const idleMs = opts.idleTimeoutMs ?? 55_000;
  const downMs = opts.skipFailedMs ?? 5_000;
  // Websockets and other upgrades: http-proxy tunnels the sockets once the dyno agreed to switch protocols.
  const proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, changeOrigin: false });
  proxy.on('error', () => undefined); // every ws() call passes its own error callback
  // A tunnel lives as long as both ends: when either side's socket closes, the other is closed too (http-proxy
  // alone would leave the dyno's side open when the client vanishes without an error).
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    proxyReq.once('upgrade', (_res, dynoSocket: Duplex) => {
      socket.once('close', () => dynoSocket.destroy());
      dynoSocket.once('close', () => socket.destroy());
    });
  });

  /** One keep-alive connection pool per dyno address, closed once unused for a while. */
  const pools = new Map<string, { pool: Pool; used: number }>();
  const poolFor = (e: Endpoint): Pool => {
    const key = `${e.host}:${e.port}`;
    let p = pools.get(key);
    if (!p) {
      p = {
        pool: new Pool(`http://${key}`, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, connect: { timeout: 5_000 } }),
        used: 0,
      };
      pools.set(key, p);
    }
    p.used = Date.now();
    return p.pool;
  };
  const sweep = setInterval(() => {
    const stale = Date.now() - 120_000;
    for (const [key, p] of pools) {
      if (p.used < stale) {
        pools.delete(key);
        void p.pool.close().catch(() => undefined);
      }
    }
  }, 60_000);
  sweep.unref();

  /**
   * Responses in flight, checked once a second for H15: no byte to the client for idleMs while the client was not
   * the one holding things up (a client that reads slowly holds the dyno back through backpressure).
   */
  const streaming = new Set<Streaming>();
  const idleCheck = setInterval(() => {
    const now = Date.now();
    for (const w of streaming) {
      const written = w.res.socket?.bytesWritten ?? 0;
      if (written !== w.seen || w.res.writableNeedDrain) {
        w.seen = written;
        w.since = now;
      } else if (now - w.since >= w.idleMs) {
        streaming.delete(w);
        w.onIdle();
      }
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));
  idleCheck.unref();

  const cursor = new Map<string, number>();
  /** Endpoints that refused a connection lately: skipped for a few seconds unless nothing else is left. */
  const down = new Map<string, number>();

  const pick = (route: Route, tried?: string[]): Endpoint | undefined => {
    const n = route.endpoints.length;
    const start = cursor.get(route.appId) ?? 0;
    let fallback: { e: Endpoint; i: number } | undefined;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const e = route.endpoints[(start + i) % n];
      const key = `${e.host}:${e.port}`;
      if (tried?.includes(key)) continue;
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

  const clientAddress = (req: IncomingMessage) => req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  const requestIdOf = (req: IncomingMessage) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  };
  const forwardedPort = (req: IncomingMessage) => String(opts.publicPort ?? req.socket.localPort ?? 80);

  /**
   * The headers a dyno gets, as a flat [name, value, …] list in the client's order and spelling: the client's,
   * less hop-by-hop ones (they describe the client's connection, not the router's pooled one to the dyno) and
   * less any forwarding headers it sent, which the router SETS (a client cannot forge them).
   */
  function upstreamHeaders(req: IncomingMessage, requestId: string, fwd: string): string[] {
    const raw = req.rawHeaders;
    const named = req.headers.connection ? connectionNames(String(req.headers.connection)) : undefined;
    const out: string[] = [];
    let via = '';
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toLowerCase();
      if (HOP_BY_HOP.has(k) || SET_BY_ROUTER.has(k) || named?.has(k)) {
        if (k === 'via') via = `${raw[i + 1]}, `;
        continue;
      }
      out.push(raw[i], raw[i + 1]);
    }
    out.push('X-Forwarded-For', fwd, 'X-Forwarded-Proto', 'http', 'X-Forwarded-Port', forwardedPort(req), 'X-Request-Id', requestId, 'Via', `${via}1.1 slipway`);
    return out;
  }

  /** The dyno's response headers (raw, from undici), less its hop-by-hop ones: Node frames the client's side. */
  function clientHeaders(raw: Buffer[]): string[] {
    const out: string[] = [];
    let named: Set<string> | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toString('latin1');
      const lower = k.toLowerCase();
      if (lower === 'connection') named = connectionNames(raw[i + 1].toString('latin1'));
      if (HOP_BY_HOP.has(lower)) continue;
      out.push(k, raw[i + 1].toString('latin1'));
    }
    if (!named) return out;
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) if (!named.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1]);
    return kept;
  }

  /** What makes a request ambiguous between the router and a dyno: answered 400, never forwarded. */
  function malformed(req: IncomingMessage): string | undefined {
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === 'host') hosts++;
    if (hosts > 1) return 'more than one Host header';
    const te = req.headers['transfer-encoding'];
    if (req.headers['content-length'] !== undefined && te !== undefined) return 'both Content-Length and Transfer-Encoding';
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
    const requestId = requestIdOf(req);
    const clientSocket = req.socket; // req.socket is gone once the response is done; the log line needs it after
    const fwd = clientAddress(req);
    const headers = upstreamHeaders(req, requestId, fwd);
    // A body is whatever the client framed: a GET with Content-Length has one too, and it must be consumed here,
    // or its bytes would be read as the client's next request.
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    const sentBytes = clientSocket.bytesWritten;
    const bytes = () => clientSocket.bytesWritten - sentBytes;
    let tried: string[] | undefined;
    let lastDyno = '';
    let finished = false;
    let answered = false; // a status line went to the client
    let abortUpstream: ((e: Error) => void) | undefined;
    res.once('close', () => {
      if (!res.writableFinished && !finished) abortUpstream?.(new Error('client gone'));
    });

    const attempt = (): void => {
      const ep = pick(r, tried);
      if (!ep) {
        const err = tried ? ERRORS.H13 : r.crashed ? ERRORS.H10 : ERRORS.H14;
        line('error', `code=${err.code} desc="${err.desc}" ${base()} request_id=${requestId} dyno=${lastDyno} status=${err.status}`);
        return sendError(req, res, err);
      }
      const key = `${ep.host}:${ep.port}`;
      (tried ??= []).push(key);
      lastDyno = ep.dyno;
      let connected = 0;
      let watch: Streaming | undefined;
      const fields = (status: number) =>
        `${base()} request_id=${requestId} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${status} bytes=${bytes()} protocol=http`;
      const done = () => {
        if (watch) streaming.delete(watch);
      };
      poolFor(ep).dispatch(
        {
          path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers,
          body: hasBody ? req : null, headersTimeout: r.requestTimeoutMs ?? timeoutMs, bodyTimeout: 0,
        },
        {
          onConnect(abort) {
            abortUpstream = abort;
            if (res.destroyed) abort(new Error('client gone'));
          },
          onHeaders(statusCode, rawHeaders, resume) {
            connected = Date.now() - started;
            answered = true;
            res.writeHead(statusCode, clientHeaders(rawHeaders as unknown as Buffer[]));
            res.on('drain', resume);
            // H15: once the response started, idleMs without a byte from the dyno ends it.
            watch = { res, seen: -1, since: 0, idleMs: r.idleTimeoutMs ?? idleMs, onIdle: () => {
              finished = true;
              line('error', `code=H15 desc="${ERRORS.H15.desc}" ${fields(res.statusCode)}`);
              abortUpstream?.(new Error('idle'));
              res.destroy();
            } };
            streaming.add(watch);
            return true;
          },
          onData(chunk) {
            return res.write(chunk);
          },
          onComplete() {
            done();
            if (finished) return;
            finished = true;
            res.end();
            line('info', `${base()} request_id=${requestId} fwd=${quote(fwd)} dyno=${ep.dyno} connect=${connected}ms service=${Date.now() - started}ms status=${res.statusCode} bytes=${bytes()} protocol=http`);
          },
          onError(e: Error & { code?: string }) {
            done();
            if (finished) return;
            const code = e.code ?? '';
            if (RETRYABLE.has(code)) down.set(key, Date.now() + downMs);
            if (res.destroyed || req.destroyed && !answered) {
              finished = true;
              line('error', `code=H27 desc="${ERRORS.H27.desc}" ${fields(499)}`);
              return void res.destroy();
            }
            if (answered) {
              // The response started: it can only be cut, logged with its code, never given a second status.
              finished = true;
              line('error', `code=H18 desc="${ERRORS.H18.desc}" ${fields(res.statusCode)}`);
              return void res.destroy();
            }
            // Nothing reached the dyno (refused), or a pooled keep-alive connection closed under us as the dyno
            // stopped: a request without a body is safe to send to the next dyno.
            const reset = (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') && IDEMPOTENT.has(req.method ?? '');
            if ((RETRYABLE.has(code) || reset) && !hasBody && tried!.length < 3) return attempt();
            finished = true;
            const err = code === 'UND_ERR_HEADERS_TIMEOUT' ? ERRORS.H12 : ERRORS.H13;
            line('error', `code=${err.code} desc="${err.desc}" ${fields(err.status)}`);
            sendError(req, res, err);
          },
        },
      );
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

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (malformed(req)) return refuse('400 Bad Request');
    const { route: r } = route(req);
    if (!r) return refuse('404 Not Found');
    const ep = r.maintenance ? undefined : pick(r);
    if (!ep) return refuse('503 Service Unavailable');
    const requestId = requestIdOf(req);
    req.headers['x-forwarded-for'] = clientAddress(req);
    req.headers['x-forwarded-proto'] = 'http';
    req.headers['x-forwarded-port'] = forwardedPort(req);
    req.headers['x-request-id'] = requestId;
    opts.logLine?.(r, `at=info method=${req.method} path=${quote(req.url ?? '/')} host=${normalizeHost(req.headers.host)} request_id=${requestId} fwd=${quote(clientAddress(req))} dyno=${ep.dyno} status=101 protocol=websocket`);
    proxy.ws(req, socket, head, { target: { host: ep.host, port: ep.port } }, () => socket.destroy());
  });

  return {
    server,
    async close() {
      clearInterval(sweep);
      clearInterval(idleCheck);
      proxy.close();
      await Promise.all([...pools.values()].map((p) => p.pool.destroy().catch(() => undefined)));
      pools.clear();
    },
  };
}

interface Streaming {
  res: ServerResponse;
  idleMs: number;
  seen: number;
  since: number;
  onIdle(): void;
}
