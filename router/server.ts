/**
 * The router: Host → the app's route → one of its web dynos, round-robin (pick.ts), over keep-alive connections per
 * dyno (upstream.ts, the router's own HTTP/1.1 client: bench/router measured it ahead of undici's Pool, itself about
 * 2.5x http-proxy's throughput here); websockets and other upgrades tunnelled by http-proxy (websocket.ts). This
 * file wires them: what a request must be to be admitted (one Host, unambiguous framing, a target naming that
 * host), the error pages for what is not (H14 no web dynos, H10 only crashed ones, H80 maintenance, 404 no app),
 * and the two ways requests arrive: the front door (front.ts) and Node's http.Server it hands some over to. A
 * request in flight is flight.ts (H12, H13, H15, H18, H27, retries); the headers a dyno gets are forwarding.ts;
 * the log line is log-line.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import { holdH2Sessions } from './h2-sessions.js';
import { H2Exchange } from './h2-exchange.js';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERRORS } from './error-pages.js';
import { Flight, type FlightContext, type Streaming } from './flight.js';
import { forwardedHeaders, forwardingOf, type Forwarding } from './forwarding.js';
import { attachFrontDoor, type Inbound, type Reply } from './front.js';
import { framesBody, inspectHeaders, originForm, type HeaderFacts } from './headers.js';
import { normalizeHost } from './host.js';
import { frontDoorProblem } from './llhttp.js';
import { logLine } from './log-line.js';
import { NodeExchange, sendError } from './node-exchange.js';
import { DynoPicker } from './pick.js';
import type { Endpoint, Route, RouteTable } from './routes.js';
import { UpstreamPool } from './upstream.js';
import { createTunnels, plainRequestHead } from './websocket.js';

export interface RouterOptions {
  routes: RouteTable;
  /** The router's log line for an app's log stream (`at=info method=GET path="/" …`). */
  logLine?: (route: Route, line: string) => void;
  /** The first response byte must arrive within this (Heroku: 30 s). */
  requestTimeoutMs?: number;
  /** Once the response started, the longest silence from the dyno (Heroku: 55 s, H15). */
  idleTimeoutMs?: number;
  /** With TLS: whether the certificate SNI chose for a connection covers a request's host (router/tls.ts). */
  covered?: (servername: string, host: string) => boolean;
  /** An HTTP/2 session with no frame for this long is sent GOAWAY and closed (120 s). */
  h2IdleTimeoutMs?: number;
  /** An HTTP/2 client must send its SETTINGS within this (10 s), or its connection is dropped. */
  h2SettingsTimeoutMs?: number;
  /** The whole request header block must arrive within this (slowloris). */
  headersTimeoutMs?: number;
  /** How long a dyno that refused a connection is passed over. */
  skipFailedMs?: number;
  /** The port clients reached the router on, for X-Forwarded-Port. */
  publicPort?: number;
  /** The same for the TLS port. */
  publicTlsPort?: number;
  /** A bug in the router itself (answered H99). */
  onError?: (e: Error) => void;
  /** Something the operator should know (the router still serves). */
  onWarning?: (message: string) => void;
  /** false: Node's http.Server reads every request (what happens anyway on a Node whose parser binding differs). */
  frontDoor?: boolean;
}

/** What makes a request ambiguous between the router and a dyno: answered 400, never forwarded. */
function malformed(facts: HeaderFacts): string | undefined {
  if (facts.hosts > 1) return 'more than one Host header';
  const te = facts.transferEncoding;
  if (facts.contentLength !== undefined && te !== undefined) return 'both Content-Length and Transfer-Encoding';
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return `Transfer-Encoding "${te.slice(0, 40)}" (only chunked is accepted)`;
  return undefined;
}

const CHALLENGE_PATH = '/.well-known/acme-challenge/';

type Admission = { host: string | undefined; route: Route | undefined; path: string } | { refused: string };

export function createRouter(opts: RouterOptions): { server: Server; serveH2(socket: Duplex): void; h2Sessions(): number; close(): Promise<void> } {
  const idleMs = opts.idleTimeoutMs ?? 55_000;
  const ports = { http: opts.publicPort, https: opts.publicTlsPort };
  const tunnels = createTunnels();

  /** Keep-alive connections per dyno address (idle ones closed in time, see upstream.ts); pools unused for two minutes go. */
  const pools = new Map<string, UpstreamPool>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, p] of pools) {
      p.closeIdle(now);
      if (p.used < now - 120_000 && p.connections === 0) pools.delete(key);
    }
  }, 5_000);
  sweep.unref();

  const ctx: FlightContext = {
    picker: new DynoPicker(opts.skipFailedMs ?? 5_000),
    poolFor(e: Endpoint, key: string): UpstreamPool {
      let p = pools.get(key);
      if (!p) pools.set(key, (p = new UpstreamPool(e.host, e.port, opts.onError)));
      return p;
    },
    streaming: new Set<Streaming>(),
    logLine: opts.logLine,
    requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
    idleTimeoutMs: idleMs,
  };

  /**
   * Responses in flight, checked once a second for H15: no byte to the client for idleMs while the client was not
   * the one holding things up (a client that reads slowly holds the dyno back through backpressure).
   */
  const idleCheck = setInterval(() => {
    const now = Date.now();
    for (const w of ctx.streaming) {
      const written = w.req.socket.bytesWritten;
      if (written !== w.seen || w.res.needDrain) {
        w.seen = written;
        w.since = now;
      } else if (now - w.since >= w.idleMs) {
        ctx.streaming.delete(w);
        w.onIdle();
      }
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));
  idleCheck.unref();

  /** A request or an upgrade, admitted to its app's route with the path a dyno gets, or refused (400) and why. */
  function admit(facts: HeaderFacts, url: string): Admission {
    const bad = malformed(facts);
    if (bad) return { refused: bad };
    const host = normalizeHost(facts.host);
    const target = originForm(url, host);
    if ('refused' in target) return target;
    return { host, route: host ? opts.routes.lookup(host) : undefined, path: target.path };
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
    // Node's server reads a request line without a version as HTTP/0.9; nothing of that goes to a dyno.
    const known = req.httpMajor === 1 || req.httpMajor === 2;
    const a: Admission = !known ? { refused: '' } : admit(facts, req.url);
    if ('refused' in a) {
      res.closeAfter();
      sendError(req, res, !known ? { code: 'http_version', status: 505, desc: 'HTTP version not supported' } : { code: 'bad_request', status: 400, desc: `Bad request: ${a.refused}` });
      return undefined;
    }
    // A connection is for the names its certificate covers: a request for another host (a browser reusing an h2
    // connection, or a client naming one app in SNI and another in Host) is told to connect again (RFC 9110, 421).
    const sni = (req.socket as { servername?: unknown }).servername;
    if (opts.covered && typeof sni === 'string' && sni && a.host && sni.toLowerCase() !== a.host && !opts.covered(sni, a.host)) {
      sendError(req, res, ERRORS.misdirected);
      return undefined;
    }
    const r = a.route;
    // An ACME HTTP-01 challenge for the app's name is answered here, in maintenance and https-only too.
    const token = a.path.startsWith(CHALLENGE_PATH) ? a.path.slice(CHALLENGE_PATH.length) : undefined;
    // Own keys only: a token named like an Object.prototype member (constructor) is no challenge.
    const challenge = r?.challenges && token !== undefined && Object.hasOwn(r.challenges, token) ? r.challenges[token] : undefined;
    if (challenge !== undefined) {
      const body = Buffer.from(challenge);
      res.head(200, ['Content-Type', 'text/plain', 'Content-Length', String(body.length), 'Cache-Control', 'no-store']);
      res.end(req.method === 'HEAD' ? undefined : body);
      return undefined;
    }
    if (!r || r.maintenance) {
      if (r) opts.logLine?.(r, logLine({ method: req.method, path: req.url, host: a.host, dyno: '', status: 503 }, ERRORS.H80, 'info'));
      sendError(req, res, r ? ERRORS.H80 : ERRORS.noSuchApp);
      return undefined;
    }
    const fw = forwardingOf(req.socket, facts, ports);
    if (r.httpsOnly && fw.proto === 'http') return redirectToHttps(req, res, r, a.host!, a.path, fw);
    const headers = forwardedHeaders(req.rawHeaders, facts, fw);
    // A body is whatever the client framed: a GET with Content-Length has one too, and it must be consumed here,
    // or its bytes would be read as the client's next request.
    const chunked = facts.transferEncoding !== undefined;
    if (chunked) headers.push('Transfer-Encoding', 'chunked');
    const flight = new Flight(ctx, req, res, r, a.host!, a.path, fw, headers, framesBody(facts), chunked);
    flight.attempt();
    return flight;
  };

  /** An https-only app's plain request: 301 (GET, HEAD) or 308 (other methods keep theirs) to the same URL over TLS. */
  const redirectToHttps = (req: Inbound, res: Reply, r: Route, host: string, path: string, fw: Forwarding): undefined => {
    const port = opts.publicTlsPort && opts.publicTlsPort !== 443 ? `:${opts.publicTlsPort}` : '';
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    res.closeAfter(); // a body the client may be sending is not read
    res.head(status, ['Location', `https://${host}${port}${path}`, 'Content-Length', '0', 'Cache-Control', 'no-store']);
    res.end();
    opts.logLine?.(r, logLine({ method: req.method, path, host, requestId: fw.requestId, fwd: fw.fwd, dyno: '', status }));
    return undefined;
  };

  /** Every request, from the front door or from Node's server: a bug in the router is answered H99, never thrown. */
  const dispatch = (req: Inbound, res: Reply): Flight | undefined => {
    try {
      return handle(req, res);
    } catch (e) {
      const host = normalizeHost(req.facts.host);
      const r = host ? opts.routes.lookup(host) : undefined;
      if (r) opts.logLine?.(r, logLine({ method: req.method, path: req.url, status: 503 }, ERRORS.H99));
      opts.onError?.(e as Error);
      if (!res.headSent) sendError(req, res, ERRORS.H99);
      else res.destroy();
      return undefined;
    }
  };

  // HTTP/2 (ALPN h2 on the TLS port): each stream is a request of its own, forwarded as HTTP/1.1.
  const h2 = createH2Server({ settings: { maxConcurrentStreams: 128 } }, (req, res) => {
    const exchange = new H2Exchange(req, res);
    const flight = dispatch(exchange, exchange);
    if (flight) req.stream.once('close', () => flight.clientGone());
  });
  h2.on('sessionError', () => undefined);
  const h2Sessions = holdH2Sessions(h2, { settingsTimeoutMs: opts.h2SettingsTimeoutMs, idleTimeoutMs: opts.h2IdleTimeoutMs });

  // What the front door hands over (upgrades, Expect: 100-continue, HTTP/1.0) is read by Node's own server.
  const onNodeRequest = (req: IncomingMessage, res: ServerResponse) => {
    const exchange = new NodeExchange(req, res);
    const flight = dispatch(exchange, exchange);
    if (!flight) return;
    const socket = req.socket as ClientSocket;
    if (!(kFlight in socket)) socket.once('close', onClientClose);
    socket[kFlight] = flight;
  };
  const server = createServer(onNodeRequest);
  // An upgrade that is not tunnelled is read again, asking for no upgrade, by a second server, which answers it as a
  // plain request: h2c offered by `curl --http2` gets HTTP/1.1 (as from nginx), a websocket to an app with no dyno
  // gets the H14 page, one to an unknown host the 404 page, and each gets its log line.
  const plain = createServer(onNodeRequest);
  for (const s of [server, plain]) {
    // Slowloris: the whole header block within 20 s; bodies may take as long as the dyno reads them.
    s.headersTimeout = opts.headersTimeoutMs ?? 20_000;
    s.requestTimeout = 0;
    s.maxHeadersCount = 200;
  }
  const [plainListener] = plain.listeners('connection') as ((socket: Duplex) => void)[];
  const serveAsHttp = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const go = () => {
      plainListener.call(plain, socket);
      socket.emit('data', Buffer.concat([plainRequestHead(req), head]));
    };
    // A pipelined upgrade arrives while the answer before it is still being written: read it once that is done.
    const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (pending && !pending.writableFinished) pending.once('finish', () => setImmediate(go));
    else go();
  };
  // Without a parser binding that behaves as the front door needs (another Node), Node's server reads every
  // request: slower, never wrong.
  const unusable = opts.frontDoor === false ? undefined : frontDoorProblem();
  if (unusable) opts.onWarning?.(`the router's front door is off, Node's http.Server reads every request: ${unusable}`);
  const front = unusable || opts.frontDoor === false ? undefined : attachFrontDoor(server, dispatch);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const facts = inspectHeaders(req.rawHeaders);
    const a = admit(facts, req.url ?? '/');
    const websocket = /^websocket$/i.test(String(req.headers.upgrade ?? '').trim());
    const ep = websocket && !('refused' in a) && a.route && !a.route.maintenance ? ctx.picker.pick(a.route) : undefined;
    if (!ep || 'refused' in a || !a.route) return serveAsHttp(req, socket, head);
    const fw = forwardingOf(req.socket, facts, ports);
    opts.logLine?.(a.route, logLine({ method: req.method ?? 'GET', path: a.path, host: a.host, requestId: fw.requestId, fwd: fw.fwd, dyno: ep.dyno, status: 101, protocol: 'websocket' }));
    tunnels.open(req, socket, head, ep, a.path, fw);
  };
  // The plain server too: a later request on a connection it reads may ask for an upgrade again.
  server.on('upgrade', onUpgrade);
  plain.on('upgrade', onUpgrade);

  return {
    server,
    /** Serves HTTP/2 on a connection that negotiated it (the TLS port's ALPN). */
    serveH2(socket: Duplex) {
      h2.emit('connection', socket);
    },
    /** HTTP/2 sessions open now. */
    h2Sessions: h2Sessions.count,
    async close() {
      clearInterval(sweep);
      clearInterval(idleCheck);
      front?.stop();
      tunnels.close();
      plain.closeAllConnections();
      h2Sessions.destroyAll();
      for (const p of pools.values()) p.destroy();
      pools.clear();
    },
  };
}
