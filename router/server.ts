/**
 * The front door: Host → the app's route → one of its web dynos, round-robin, over keep-alive connections per
 * dyno (router/upstream.ts, the router's own HTTP/1.1 client: bench/router measured it ahead of undici's Pool,
 * which was itself about 2.5x http-proxy's throughput on this machine; http-proxy still tunnels websockets and
 * other upgrades). Heroku's behaviour: X-Forwarded-For/Proto/Port set by the router,
 * X-Request-Id (kept when the client sends a sane one), Via; 30 s to the first response byte (H12), 55 s of
 * silence after it (H15); a dyno closing without answering (H13) or mid-response (H18); no web dynos (H14) or
 * only crashed ones (H10); maintenance (H80); a client leaving early (H27). A refused connection (a dyno going
 * away between two route updates) is retried on the next dyno when the request has no body, so a deploy drops
 * nothing, and that dyno is passed over for a few seconds.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { ERRORS, errorBody, type RouterError } from './error-pages.js';
import { normalizeHost } from './host.js';
import type { Endpoint, Route, RouteTable } from './routes.js';
import { HOP_BY_HOP, NOT_FROM_CLIENTS, SET_BY_ROUTER, canonicalLength, connectionNames, framesBody, inspectHeaders, originForm, type HeaderFacts } from './headers.js';
import { attachFrontDoor, type Inbound, type InFlight, type Reply } from './front.js';
import { frontDoorProblem } from './llhttp.js';
import { UpstreamPool, type Exchange, type UpstreamError, type UpstreamHandler } from './upstream.js';

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
  /** Something the operator should know (the router still serves). */
  onWarning?: (message: string) => void;
  /** false: Node's http.Server reads every request (what happens anyway on a Node whose parser binding differs). */
  frontDoor?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9+/=_.-]{20,200}$/;
/** Connect failures: nothing reached the dyno, so any request may go to the next one. */
const RETRYABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

function wantsJson(req: Inbound): boolean {
  const accept = req.facts.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

function sendError(req: Inbound, res: Reply, err: RouterError): void {
  if (res.headSent) return void res.destroy();
  const { type, body } = errorBody(err, wantsJson(req));
  const bytes = Buffer.from(body);
  res.head(err.status, ['Content-Type', type, 'Content-Length', String(bytes.length), 'Cache-Control', 'no-store']);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/**
 * A request that came through Node's http.Server (what the front door hands over: upgrades, Expect,
 * HTTP/1.0), seen as the front's Inbound and Reply.
 */
class NodeExchange implements Inbound, Reply {
  readonly rawHeaders: string[];
  readonly facts: HeaderFacts;
  constructor(readonly req: IncomingMessage, readonly res: ServerResponse) {
    this.rawHeaders = req.rawHeaders;
    this.facts = inspectHeaders(req.rawHeaders);
  }
  get method() { return this.req.method ?? 'GET'; }
  get url() { return this.req.url ?? '/'; }
  get body(): Readable { return this.req; }
  get socket(): Socket { return this.req.socket; }
  get gone() { return this.req.destroyed; }
  get httpMajor() { return this.req.httpVersionMajor; }
  get headSent() { return this.res.headersSent; }
  get status() { return this.res.statusCode; }
  get destroyed() { return this.res.destroyed; }
  get finished() { return this.res.writableFinished; }
  get needDrain() { return this.res.writableNeedDrain; }
  head(status: number, headers: string[]): void { this.res.writeHead(status, headers); }
  write(chunk: Buffer): boolean { return this.res.write(chunk); }
  end(chunk?: Buffer): void { this.res.end(chunk); }
  onceDrain(fn: () => void): void { this.res.once('drain', fn); }
  destroy(): void { this.res.destroy(); }
  closeAfter(): void { this.res.shouldKeepAlive = false; }
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

  /** Keep-alive connections per dyno address (idle ones closed in time, see upstream.ts); pools unused for two minutes go. */
  const pools = new Map<string, UpstreamPool>();
  const poolFor = (e: Endpoint, key: string): UpstreamPool => {
    let p = pools.get(key);
    if (!p) pools.set(key, (p = new UpstreamPool(e.host, e.port, opts.onError)));
    return p;
  };
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, p] of pools) {
      p.closeIdle(now);
      if (p.used < now - 120_000 && p.connections === 0) pools.delete(key);
    }
  }, 5_000);
  sweep.unref();

  /**
   * Responses in flight, checked once a second for H15: no byte to the client for idleMs while the client was not
   * the one holding things up (a client that reads slowly holds the dyno back through backpressure).
   */
  const streaming = new Set<Streaming>();
  const idleCheck = setInterval(() => {
    const now = Date.now();
    for (const w of streaming) {
      const written = w.req.socket.bytesWritten;
      if (written !== w.seen || w.res.needDrain) {
        w.seen = written;
        w.since = now;
      } else if (now - w.since >= w.idleMs) {
        streaming.delete(w);
        w.onIdle();
      }
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));
  idleCheck.unref();

  /** "host:port" of an endpoint, made once per endpoint object (route tables hand out the same objects). */
  const keys = new WeakMap<Endpoint, string>();
  const keyOf = (e: Endpoint): string => {
    let k = keys.get(e);
    if (k === undefined) keys.set(e, (k = `${e.host}:${e.port}`));
    return k;
  };

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
      const key = keyOf(e);
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

  const clientAddress = (socket: Socket) => socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  const requestIdOf = (facts: HeaderFacts) => {
    const given = facts.requestId;
    return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
  };
  const forwardedPort = (socket: Socket) => String(opts.publicPort ?? socket.localPort ?? 80);

  /**
   * The headers a dyno gets, as a flat [name, value, …] list in the client's order and spelling: the client's,
   * less hop-by-hop ones (they describe the client's connection, not the router's pooled one to the dyno) and
   * less any forwarding headers it sent, which the router SETS (a client cannot forge them), and with the body's
   * framing set by the router: the client's Content-Length in canonical form (Transfer-Encoding is added by the
   * caller), never taken out by a Connection header.
   */
  function upstreamHeaders(req: Inbound, requestId: string, fwd: string, received: number): string[] {
    const raw = req.rawHeaders;
    const named = req.facts.connection ? connectionNames(req.facts.connection) : undefined;
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
    const length = req.facts.contentLength;
    if (length !== undefined && req.facts.transferEncoding === undefined) out.push('Content-Length', canonicalLength(length));
    out.push('X-Forwarded-For', fwd, 'X-Forwarded-Proto', 'http', 'X-Forwarded-Port', forwardedPort(req.socket), 'X-Request-Id', requestId, 'X-Request-Start', String(received), 'Via', `${via}1.1 slipway`);
    return out;
  }

  /** What makes a request ambiguous between the router and a dyno: answered 400, never forwarded. */
  function malformed(facts: HeaderFacts): string | undefined {
    if (facts.hosts > 1) return 'more than one Host header';
    const te = facts.transferEncoding;
    if (facts.contentLength !== undefined && te !== undefined) return 'both Content-Length and Transfer-Encoding';
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return `Transfer-Encoding "${te.slice(0, 40)}" (only chunked is accepted)`;
    return undefined;
  }

  function route(facts: HeaderFacts): { host: string | undefined; route: Route | undefined } {
    const host = normalizeHost(facts.host);
    return { host, route: host ? opts.routes.lookup(host) : undefined };
  }

  /**
   * One request on its way through the router: its attempts at dynos (a retry goes to another one), the
   * response streamed back, H15 watching, and the log line. A class, not closures: nothing is allocated per
   * request beyond this object and its strings.
   */
  class Flight implements UpstreamHandler, Streaming, InFlight {
    readonly socket: Socket;
    readonly sentBytes: number;
    tried: string[] | undefined;
    ep: Endpoint | undefined;
    key = '';
    finished = false;
    /** A status line went to the client. */
    answered = false;
    connected = 0;
    exchange: Exchange | undefined;
    resumeDyno: (() => void) | undefined;
    /** The response was ended with the body's last piece. */
    ended = false;
    // H15 (Streaming)
    seen = -1;
    since = 0;
    readonly idleMs: number;

    constructor(
      readonly req: Inbound, readonly res: Reply, readonly route: Route, readonly host: string, readonly path: string, readonly started: number,
      readonly requestId: string, readonly fwd: string, readonly headers: string[], readonly hasBody: boolean, readonly chunked: boolean,
    ) {
      this.socket = req.socket;
      this.sentBytes = this.socket.bytesWritten;
      this.idleMs = route.idleTimeoutMs ?? idleMs;
    }

    line(at: string, fields: string): void {
      opts.logLine?.(this.route, `at=${at} ${fields}`);
    }

    base(): string {
      return `method=${this.req.method} path=${quote(this.path)} host=${this.host}`;
    }

    /** The log line's fields after `at=…` (and the code, for errors); `fwd=` only on a completed request's line. */
    fields(status: number, fwd = false): string {
      return `${this.base()} request_id=${this.requestId}${fwd ? ` fwd=${quote(this.fwd)}` : ''} dyno=${this.ep?.dyno ?? ''} connect=${this.connected}ms service=${Date.now() - this.started}ms status=${status} bytes=${this.socket.bytesWritten - this.sentBytes} protocol=http`;
    }

    attempt(): void {
      const ep = pick(this.route, this.tried);
      if (!ep) {
        this.finished = true;
        const err = this.tried ? ERRORS.H13 : this.route.crashed ? ERRORS.H10 : ERRORS.H14;
        this.line('error', `code=${err.code} desc="${err.desc}" ${this.base()} request_id=${this.requestId} dyno=${this.ep?.dyno ?? ''} status=${err.status}`);
        return sendError(this.req, this.res, err);
      }
      this.ep = ep;
      this.key = keyOf(ep);
      (this.tried ??= []).push(this.key);
      this.exchange = poolFor(ep, this.key).dispatch(
        {
          path: this.path, method: this.req.method, headers: this.headers, body: this.hasBody ? this.req.body : null,
          chunked: this.chunked, headersTimeoutMs: this.route.requestTimeoutMs ?? timeoutMs,
        },
        this,
      );
      if (this.res.destroyed) this.clientGone();
    }

    /** The client's connection closed: a response still on its way is cut at the dyno too (H27 or H18). */
    clientGone(): void {
      if (!this.finished && !this.res.finished) this.exchange?.abort(new Error('client gone'));
    }

    onHeaders(status: number, headers: string[], resume: () => void): void {
      this.connected = Date.now() - this.started;
      this.answered = true;
      this.res.head(status, headers);
      this.resumeDyno = resume;
      streaming.add(this); // H15: once the response started, idleMs without a byte from the dyno ends it
    }

    onData(chunk: Buffer, last: boolean): boolean {
      if (last && !this.finished) {
        // The whole rest of the body: written with the end of the response, one write for the client.
        this.ended = true;
        this.res.end(chunk);
        return true;
      }
      const ok = this.res.write(chunk);
      if (!ok) this.res.onceDrain(this.resumeDyno!);
      return ok;
    }

    onComplete(): void {
      streaming.delete(this);
      if (this.finished) return;
      this.finished = true;
      if (!this.ended) this.res.end();
      this.line('info', this.fields(this.res.status, true));
    }

    onIdle(): void {
      this.finished = true;
      this.line('error', `code=H15 desc="${ERRORS.H15.desc}" ${this.fields(this.res.status)}`);
      this.exchange?.abort(new Error('idle'));
      this.res.destroy();
    }

    onError(e: UpstreamError): void {
      streaming.delete(this);
      if (this.finished) return;
      const { req, res } = this;
      const code = e.code;
      if (RETRYABLE.has(code)) down.set(this.key, Date.now() + downMs);
      if (res.destroyed || (req.gone && !this.answered)) {
        this.finished = true;
        this.line('error', `code=H27 desc="${ERRORS.H27.desc}" ${this.fields(499)}`);
        return void res.destroy();
      }
      if (this.answered) {
        // The response started: it can only be cut, logged with its code, never given a second status.
        this.finished = true;
        this.line('error', `code=H18 desc="${ERRORS.H18.desc}" ${this.fields(res.status)}`);
        return void res.destroy();
      }
      // Nothing reached the dyno (refused), or a pooled keep-alive connection closed under us as the dyno
      // stopped: a request without a body is safe to send to the next dyno.
      const reset = code === 'CLOSED' && IDEMPOTENT.has(req.method);
      if ((RETRYABLE.has(code) || reset) && !this.hasBody && this.tried!.length < 3) return this.attempt();
      this.finished = true;
      const err = code === 'HEADERS_TIMEOUT' ? ERRORS.H12 : code === 'INTERNAL' ? ERRORS.H99 : ERRORS.H13;
      this.line('error', `code=${err.code} desc="${err.desc}" ${this.fields(err.status)}`);
      sendError(req, res, err);
    }
  }

  /** The flight a client connection carries now; one close listener per connection, not per request. */
  const kFlight = Symbol('flight');
  type ClientSocket = Socket & { [kFlight]?: Flight };
  function onClientClose(this: ClientSocket): void {
    this[kFlight]?.clientGone();
    this[kFlight] = undefined;
  }

  const handle = (req: Inbound, res: Reply): Flight | undefined => {
    const { facts } = req;
    if (req.httpMajor !== 1) {
      // Node's server reads a request line without a version as HTTP/0.9; nothing of that goes to a dyno.
      res.closeAfter();
      sendError(req, res, { code: 'http_version', status: 505, desc: 'HTTP version not supported' });
      return undefined;
    }
    const bad = malformed(facts);
    if (bad) {
      res.closeAfter();
      sendError(req, res, { code: 'bad_request', status: 400, desc: `Bad request: ${bad}` });
      return undefined;
    }
    const { host, route: r } = route(facts);
    const target = originForm(req.url, host);
    if ('refused' in target) {
      res.closeAfter();
      sendError(req, res, { code: 'bad_request', status: 400, desc: `Bad request: ${target.refused}` });
      return undefined;
    }
    if (!r || r.maintenance) {
      if (r) opts.logLine?.(r, `at=info code=H80 desc="${ERRORS.H80.desc}" method=${req.method} path=${quote(req.url)} host=${host} dyno= status=503`);
      sendError(req, res, r ? ERRORS.H80 : ERRORS.noSuchApp);
      return undefined;
    }
    const requestId = requestIdOf(facts);
    const fwd = clientAddress(req.socket);
    // X-Request-Start as Heroku's router sets it (ms since the epoch): what APM and autoscalers measure queueing by.
    const received = Date.now();
    const headers = upstreamHeaders(req, requestId, fwd, received);
    // A body is whatever the client framed: a GET with Content-Length has one too, and it must be consumed here,
    // or its bytes would be read as the client's next request.
    const chunked = facts.transferEncoding !== undefined;
    const hasBody = framesBody(facts);
    if (chunked) headers.push('Transfer-Encoding', 'chunked');
    const flight = new Flight(req, res, r, host!, target.path, received, requestId, fwd, headers, hasBody, chunked);
    flight.attempt();
    return flight;
  };

  /** Every request, from the front door or from Node's server: a bug in the router is answered H99, never thrown. */
  const dispatch = (req: Inbound, res: Reply): Flight | undefined => {
    try {
      return handle(req, res);
    } catch (e) {
      const { route: r } = route(req.facts);
      if (r) opts.logLine?.(r, `at=error code=H99 desc="${ERRORS.H99.desc}" method=${req.method} path=${quote(req.url)} status=503`);
      opts.onError?.(e as Error);
      if (!res.headSent) sendError(req, res, ERRORS.H99);
      else res.destroy();
      return undefined;
    }
  };

  // What the front door hands over (upgrades, Expect: 100-continue, HTTP/1.0) is read by Node's own server.
  const server = createServer((req, res) => {
    const exchange = new NodeExchange(req, res);
    const flight = dispatch(exchange, exchange);
    if (!flight) return;
    const socket = req.socket as ClientSocket;
    if (!(kFlight in socket)) socket.once('close', onClientClose);
    socket[kFlight] = flight;
  });
  // Slowloris: the whole header block within 20 s; bodies may take as long as the dyno reads them.
  server.headersTimeout = opts.headersTimeoutMs ?? 20_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 200;
  // Without a parser binding that behaves as the front door needs (another Node), Node's server reads every
  // request: slower, never wrong.
  const unusable = opts.frontDoor === false ? undefined : frontDoorProblem();
  if (unusable) opts.onWarning?.(`the router's front door is off, Node's http.Server reads every request: ${unusable}`);
  const front = unusable || opts.frontDoor === false ? undefined : attachFrontDoor(server, dispatch);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    const facts = inspectHeaders(req.rawHeaders);
    if (malformed(facts)) return refuse('400 Bad Request');
    const { host, route: r } = route(facts);
    const target = originForm(req.url ?? '/', host);
    if ('refused' in target) return refuse('400 Bad Request');
    if (!r) return refuse('404 Not Found');
    const ep = r.maintenance ? undefined : pick(r);
    if (!ep) return refuse('503 Service Unavailable');
    const requestId = requestIdOf(facts);
    req.url = target.path;
    for (const name of NOT_FROM_CLIENTS) delete req.headers[name];
    req.headers['x-forwarded-for'] = clientAddress(req.socket);
    req.headers['x-forwarded-proto'] = 'http';
    req.headers['x-forwarded-port'] = forwardedPort(req.socket);
    req.headers['x-request-id'] = requestId;
    req.headers['x-request-start'] = String(Date.now());
    opts.logLine?.(r, `at=info method=${req.method} path=${quote(target.path)} host=${host} request_id=${requestId} fwd=${quote(clientAddress(req.socket))} dyno=${ep.dyno} status=101 protocol=websocket`);
    proxy.ws(req, socket, head, { target: { host: ep.host, port: ep.port } }, () => socket.destroy());
  });

  return {
    server,
    async close() {
      clearInterval(sweep);
      clearInterval(idleCheck);
      front?.stop();
      proxy.close();
      for (const p of pools.values()) p.destroy();
      pools.clear();
    },
  };
}

interface Streaming {
  req: Inbound;
  res: Reply;
  idleMs: number;
  seen: number;
  since: number;
  onIdle(): void;
}
