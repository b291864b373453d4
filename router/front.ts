/**
 * The router's client side: HTTP/1.1 connections read with Node's own request parser (llhttp, the binding
 * http.Server uses, with the same strictness against smuggling) and answered by writing straight to the socket,
 * without an IncomingMessage and a ServerResponse per request. bench/router measured Node's http.Server alone
 * at about as much CPU per request as nginx's whole proxying; this is where the router spent it.
 *
 * Everything this path does not carry is handed, at a request boundary, to the http.Server underneath with the
 * request's bytes, and that connection stays there: upgrades (websockets, through http-proxy), CONNECT,
 * `Expect: 100-continue`, HTTP/1.0. The server's close(), closeIdleConnections() and closeAllConnections() cover
 * both kinds of connection, so a graceful stop finishes in-flight requests on either.
 *
 * One connection carries one request at a time. A client that pipelines has the next request kept (unparsed,
 * up to 64 KiB, then its socket is paused) until the response before it is done. A request read together with
 * the end of a body is answered next when it has no body of its own, and otherwise ends the connection after
 * the answer before it (RFC 9112 §9.3.2: the client retries). The parser binding is in llhttp.ts.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { framesBody, inspectHeaders, type HeaderFacts } from './headers.js';
import { HTTPParser, KEEP_PARSING, STOP_AFTER_HEAD, methods, type Parser } from './llhttp.js';

/** What a request handler reads of a request. */
export interface Inbound {
  readonly method: string;
  readonly url: string;
  /** Flat [name, value, …] as the client sent them. */
  readonly rawHeaders: string[];
  readonly facts: HeaderFacts;
  /** The de-framed request body when the request has one (Content-Length other than 0, or Transfer-Encoding). */
  readonly body: Readable | null;
  readonly socket: Socket;
  /** The client went away (its connection closed or it abandoned the request). */
  readonly gone: boolean;
  /** The request's HTTP major version (the front door carries only 1; Node's server may read 0.9 too). */
  readonly httpMajor: number;
}

/** Where a request handler writes the response. */
export interface Reply {
  /** A status was given (its head may still be on its way). */
  readonly headSent: boolean;
  readonly status: number;
  readonly destroyed: boolean;
  /** The response was ended. */
  readonly finished: boolean;
  /** The client is not reading as fast as the response comes. */
  readonly needDrain: boolean;
  /** Status and flat headers, less framing and connection headers: those are the front's. */
  head(status: number, headers: string[]): void;
  /** false: wait for onceDrain before writing more. */
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): void;
  onceDrain(fn: () => void): void;
  /** Cuts the response (the client sees the connection close). */
  destroy(): void;
  /** The connection closes once this response is done. */
  closeAfter(): void;
}

/** A request in progress, told when its client's connection closes. */
export interface InFlight {
  clientGone(): void;
}

export type RequestHandler = (req: Inbound, reply: Reply) => InFlight | undefined;

/** Pipelined bytes kept while a response is in progress; past this the client's socket is paused. */
const MAX_KEPT = 64 * 1024;
const MAX_HEADER_PAIRS = 200;

const plain = (status: number) => Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, 'latin1');
/** Node's answers to a request it could not read (and the same headers timeout answer, 408). */
const REFUSALS: Record<string, Buffer> = {
  HPE_HEADER_OVERFLOW: plain(431),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: plain(413),
  TIMEOUT: plain(408),
  VERSION: plain(505),
  OTHER: plain(400),
};
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

let dateSecond = 0;
let dateValue = '';
/** The Date header's value, made once a second. */
function httpDate(now: number): string {
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(s * 1000).toUTCString();
  }
  return dateValue;
}

class BodyStream extends Readable {
  constructor(private readonly socket: Socket) {
    super();
    // Destroyed with an error when the client breaks off its body, possibly before anyone reads it: never thrown.
    this.on('error', () => undefined);
  }
  override _read(): void {
    this.socket.resume();
  }
}

/**
 * What the front door does not answer itself: HAND_OFF (Node's server reads it), or the refusal it gets; undefined
 * for a plain HTTP/1.1 request.
 */
function notCarried(major: number, minor: number, upgrade: boolean, method: string, facts: HeaderFacts): 'HAND_OFF' | 'VERSION' | 'OTHER' | undefined {
  // HTTP/0.9 (llhttp reads a request line without a version as that) or 2+: 505, as nginx answers.
  if (major !== 1) return 'VERSION';
  if (upgrade || minor !== 1 || facts.expect || method === 'CONNECT') return 'HAND_OFF';
  // HTTP/1.1 requires a Host (Node's server answers 400 too).
  if (facts.hosts === 0) return 'OTHER';
  return undefined;
}

interface QueuedHead {
  method: string;
  url: string;
  rawHeaders: string[];
  facts: HeaderFacts;
  keepAlive: boolean;
}

const enum Phase {
  /** Between requests (keep-alive). */
  Idle,
  /** Reading a request head. */
  Head,
  /** The head is read; the request (and maybe its body) is being answered. */
  Request,
}

export class FrontDoor {
  readonly connections = new Set<ClientConnection>();
  /** The server is closing: responses end their connection, idle ones are closed. */
  draining = false;
  private readonly sweep: NodeJS.Timeout;

  constructor(readonly server: Server, readonly handler: RequestHandler, readonly nodeListener: (socket: Socket) => void) {
    this.sweep = setInterval(() => this.check(Date.now()), 250);
    this.sweep.unref();
  }

  /** Slowloris (the head within server.headersTimeout, from the connection or the previous response) and keep-alive idle time. */
  private check(now: number): void {
    const headersMs = this.server.headersTimeout || 0;
    const idleMs = this.server.keepAliveTimeout || 0;
    for (const c of this.connections) {
      if (c.phase === Phase.Head && headersMs > 0 && now - c.since > headersMs) c.refuse('TIMEOUT');
      else if (c.phase === Phase.Idle && idleMs > 0 && now - c.since > idleMs) c.socket.destroy();
    }
  }

  closeIdle(): void {
    for (const c of this.connections) if (c.idle) c.socket.destroy();
  }

  closeAll(): void {
    for (const c of this.connections) c.socket.destroy();
  }

  stop(): void {
    clearInterval(this.sweep);
  }

  /** A connection leaves the front: Node's http.Server reads it from the given bytes on. */
  handOff(c: ClientConnection, bytes: Buffer): void {
    this.connections.delete(c);
    this.nodeListener.call(this.server, c.socket);
    if (bytes.length) c.socket.emit('data', bytes);
  }
}

/**
 * One client connection: its parser, the request being answered (it is the Inbound and the Reply: nothing else
 * is allocated per request but the handler's own state), and what it kept of a pipelined next request.
 */
export class ClientConnection implements Inbound, Reply {
  // Inbound
  method = '';
  url = '';
  rawHeaders: string[] = [];
  facts: HeaderFacts = inspectHeaders([]);
  body: BodyStream | null = null;
  readonly httpMajor = 1;
  // Reply
  headSent = false;
  status = 0;
  finished = false;

  phase = Phase.Head;
  /** When the current phase began: Head (slowloris) or Idle (keep-alive). */
  since = Date.now();
  private readonly parser: Parser;
  /** The head arrived over several reads: its headers (and target) so far. */
  private partialHeaders: string[] | undefined;
  private partialUrl = '';
  /** This request's bytes from its first, for a hand-off to Node. */
  private readonly headBytes: Buffer[] = [];
  /** A head completed during this parse (a second one is a pipelined request behind a body). */
  private headSeen = false;
  /** The last head was answered with STOP_AFTER_HEAD: the parser starts afresh for the next request. */
  private stopped = false;
  private handOffWanted = false;
  /** The head is refused as Node's server refuses it. */
  private refusal: string | undefined;
  private requestDone = false;
  private responding = false;
  private keepAlive = true;
  /** The response ended before the request body did: the rest of the body is read and dropped. */
  private discard = false;
  private kept: Buffer | undefined;
  /** A body-less request whose head was read in the same read as the end of the body before it. */
  private queued: QueuedHead | undefined;
  private paused = false;
  private flight: InFlight | undefined;
  private pendingHead: string | undefined;
  private chunked = false;
  private bodyless = false;
  private closed = false;
  private inNext = false;
  private again = false;
  /** Requests dispatched on this connection. */
  private seq = 0;

  constructor(private readonly front: FrontDoor, readonly socket: Socket) {
    const p = new HTTPParser();
    this.parser = p;
    this.initParser();
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      (this.partialHeaders ??= []).push(...headers);
      this.partialUrl += url;
    };
    p[HTTPParser.kOnHeadersComplete] = this.onHead;
    p[HTTPParser.kOnBody] = this.onBody;
    p[HTTPParser.kOnMessageComplete] = this.onMessageComplete;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    front.connections.add(this);
  }

  private initParser(): void {
    this.parser.initialize(HTTPParser.REQUEST, {}, (this.front.server as { maxHeaderSize?: number }).maxHeaderSize || 0, 0);
    this.partialHeaders = undefined;
    this.partialUrl = '';
  }

  get gone(): boolean {
    return this.closed || this.socket.destroyed;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get needDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Nothing in progress: no request being read or answered. */
  get idle(): boolean {
    return !this.responding && (this.phase === Phase.Idle || (this.phase === Phase.Head && this.headBytes.length === 0));
  }

  // --- reading ---

  private readonly onData = (d: Buffer): void => {
    if (this.phase === Phase.Request && this.requestDone) {
      // The next request, pipelined: kept whole until this response is done.
      this.kept = this.kept ? Buffer.concat([this.kept, d]) : d;
      if (this.kept.length > MAX_KEPT && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.parse(d);
  };

  private parse(d: Buffer): void {
    if (this.phase === Phase.Idle) {
      this.phase = Phase.Head;
      this.since = Date.now();
      if (this.stopped) {
        // llhttp stays in its after-upgrade state once a head returned STOP_AFTER_HEAD: it would report the next
        // request's errors as a pause at the error's offset. A fresh start reads it as a new connection's first.
        this.stopped = false;
        this.initParser();
      }
    }
    if (this.phase === Phase.Head) this.headBytes.push(d);
    this.headSeen = false;
    const r = this.parser.execute(d);
    if (typeof r !== 'number') {
      // Bytes after a request that closes the connection are not read; anything else unreadable is refused.
      if (!(this.phase === Phase.Request && this.requestDone && !this.keepAlive)) return this.refuse(r.code ?? 'OTHER');
    } else if (this.refusal) {
      return this.refuse(this.refusal);
    } else if (this.handOffWanted) {
      this.detach();
      return this.front.handOff(this, this.headBytes.length === 1 ? this.headBytes[0] : Buffer.concat(this.headBytes));
    }
    if (this.phase !== Phase.Request) return;
    if (this.queued && typeof r === 'number' && r < d.length && this.keepAlive) this.kept = d.subarray(r);
    if (this.headSeen) {
      // A request began in this read: the handler answers it now (its body, if any, was parsed as far as it came).
      if (typeof r === 'number' && r < d.length && this.keepAlive) this.kept = d.subarray(r);
      this.headBytes.length = 0;
      this.dispatch();
    } else if (this.requestDone && !this.responding) this.next();
  }

  private readonly onHead = (
    major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
    _status: unknown, _message: unknown, upgrade: boolean, shouldKeepAlive: boolean,
  ): number => {
    let raw = headers ?? [];
    if (this.partialHeaders) {
      raw = this.partialHeaders.concat(raw);
      this.partialHeaders = undefined;
    }
    if (raw.length > MAX_HEADER_PAIRS * 2) raw.length = MAX_HEADER_PAIRS * 2;
    const target = this.partialUrl + (url ?? '');
    this.partialUrl = '';
    const facts = inspectHeaders(raw);
    const name = methods[method];
    const hasBody = framesBody(facts);
    const other = notCarried(major, minor, upgrade, name, facts);
    if (this.phase === Phase.Request) {
      // The next request, in the same read as the end of this one's body (pipelined, or sent as soon as an early
      // answer came). One without a body is answered next: llhttp stopped right after its head. Anything else
      // ends the connection after this answer (RFC 9112 §9.3.2: the client retries it).
      if (!other && !hasBody && !this.queued) {
        this.queued = { method: name, url: target, rawHeaders: raw, facts, keepAlive: shouldKeepAlive };
        this.stopped = true;
      } else this.keepAlive = false;
      return STOP_AFTER_HEAD;
    }
    if (other === 'HAND_OFF') this.handOffWanted = true;
    else if (other) this.refusal = other;
    if (other) return STOP_AFTER_HEAD;
    this.begin({ method: name, url: target, rawHeaders: raw, facts, keepAlive: shouldKeepAlive });
    this.headSeen = true;
    this.requestDone = false;
    this.body = hasBody ? new BodyStream(this.socket) : null;
    this.stopped = !hasBody;
    return hasBody ? KEEP_PARSING : STOP_AFTER_HEAD;
  };

  /** A request becomes the one being answered. */
  private begin(h: QueuedHead): void {
    this.method = h.method;
    this.url = h.url;
    this.rawHeaders = h.rawHeaders;
    this.facts = h.facts;
    this.keepAlive = h.keepAlive && !this.front.draining;
    this.phase = Phase.Request;
    this.responding = true;
    this.headSent = false;
    this.finished = false;
    this.status = 0;
    this.discard = false;
  }

  private readonly onBody = (chunk: Buffer): void => {
    if (this.discard || !this.body) return;
    if (!this.body.push(chunk)) this.socket.pause();
  };

  private readonly onMessageComplete = (): void => {
    this.requestDone = true;
    this.body?.push(null);
    if (this.discard) this.socket.resume();
  };

  private dispatch(): void {
    const seq = ++this.seq;
    try {
      // An answer given at once (an error page) may have started the next pipelined request already.
      const f = this.front.handler(this, this);
      if (seq === this.seq && this.responding) this.flight = f;
    } catch (e) {
      // The handler answers its own bugs (H99); one escaping it must not take the process down.
      this.socket.destroy(e as Error);
    }
  }

  /** The request and its response are both done: the connection is idle, closed, or reads what was pipelined. */
  private next(): void {
    if (this.inNext) {
      this.again = true;
      return;
    }
    this.inNext = true;
    do {
      this.again = false;
      this.flight = undefined;
      this.body = null;
      this.phase = Phase.Idle;
      this.since = Date.now();
      if (!this.keepAlive || this.front.draining) {
        this.socket.destroySoon();
        break;
      }
      if (this.paused) {
        this.paused = false;
        this.socket.resume();
      }
      const queued = this.queued;
      if (queued) {
        // Read already (its whole head, and it has no body): answered now; what came after it waits in kept.
        this.queued = undefined;
        this.begin(queued);
        this.requestDone = true;
        this.dispatch();
        continue;
      }
      const kept = this.kept;
      this.kept = undefined;
      if (kept) this.parse(kept);
    } while (this.again);
    this.inNext = false;
  }

  /** The connection goes to Node's http.Server: nothing of the front stays on it. */
  private detach(): void {
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    this.closed = true;
    this.parser.close();
  }

  private readonly onEnd = (): void => {
    const r = this.parser.finish();
    if (r instanceof Error) return this.refuse(r.code ?? 'OTHER');
    // As Node's server (httpAllowHalfOpen false): a client that stopped sending is gone; a response in flight is cut.
    this.socket.end();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.front.connections.delete(this);
    this.parser.close();
    if (this.body && !this.requestDone) this.body.destroy(new Error('the client went away while sending its body'));
    this.flight?.clientGone();
    this.flight = undefined;
  };

  /** A request Node's parser refused (or a head too slow): Node's plain answer, unless a response already started. */
  refuse(code: string): void {
    if (this.closed) return;
    if (!(this.responding && this.headSent) && this.socket.writable) this.socket.write(REFUSALS[code] ?? REFUSALS.OTHER);
    if (this.body && !this.requestDone) this.body.destroy(new Error(`the request could not be read (${code})`));
    this.socket.destroySoon();
    this.closed = true;
  }

  // --- writing (Reply) ---

  head(status: number, headers: string[]): void {
    this.status = status;
    this.headSent = true;
    this.bodyless = this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = true;
      else if (name.length === 4 && name.toLowerCase() === 'date') date = true;
      s += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!date) s += `Date: ${httpDate(Date.now())}\r\n`;
    this.chunked = !this.bodyless && !length;
    if (this.chunked) s += 'Transfer-Encoding: chunked\r\n';
    if (this.keepAlive && !this.front.draining) {
      const t = this.front.server.keepAliveTimeout;
      s += t ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(t / 1000)}\r\n\r\n` : 'Connection: keep-alive\r\n\r\n';
    } else {
      this.keepAlive = false;
      s += 'Connection: close\r\n\r\n';
    }
    this.pendingHead = s;
    // The head goes with the first body bytes; when none come in this turn, by itself.
    queueMicrotask(this.flushHead);
  }

  private readonly flushHead = (): void => {
    if (this.pendingHead === undefined || this.socket.destroyed) return;
    const s = this.pendingHead;
    this.pendingHead = undefined;
    this.socket.write(s, 'latin1');
  };

  write(chunk: Buffer): boolean {
    if (this.bodyless || chunk.length === 0) {
      this.flushHead();
      return true;
    }
    const s = this.socket;
    if (!this.chunked && this.pendingHead !== undefined && chunk.length < 16 * 1024) {
      // Head and body in one buffer, one write.
      const head = this.pendingHead;
      this.pendingHead = undefined;
      const n = head.length; // latin1: a byte per character
      const out = Buffer.allocUnsafe(n + chunk.length);
      out.write(head, 0, 'latin1');
      chunk.copy(out, n);
      return s.write(out);
    }
    s.cork();
    this.flushHead();
    if (this.chunked) {
      s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      s.write(CRLF);
    } else s.write(chunk);
    s.uncork();
    return !s.writableNeedDrain;
  }

  end(chunk?: Buffer): void {
    if (this.finished) return;
    this.finished = true;
    const s = this.socket;
    if (!s.destroyed) {
      if (chunk && chunk.length && !this.bodyless) {
        if (this.chunked) {
          s.cork();
          this.write(chunk);
          s.write(LAST_CHUNK);
          s.uncork();
        } else this.write(chunk);
      } else if (this.chunked) {
        s.cork();
        this.flushHead();
        s.write(LAST_CHUNK);
        s.uncork();
      } else this.flushHead();
    }
    this.responding = false;
    this.flight = undefined;
    if (this.requestDone) this.next();
    else if (!this.keepAlive || this.front.draining) this.socket.destroySoon();
    else {
      // The dyno answered before the client finished sending: the rest of the body is read and dropped.
      this.discard = true;
      this.body = null;
      this.socket.resume();
    }
  }

  onceDrain(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  destroy(): void {
    this.socket.destroy();
  }

  closeAfter(): void {
    this.keepAlive = false;
  }
}

/**
 * Puts the front door on an http.Server: its connections are read by the front, which hands to the server only
 * what it does not carry (see above). The server's own request handler serves those.
 */
export function attachFrontDoor(server: Server, handler: RequestHandler): FrontDoor {
  const [nodeListener] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!nodeListener) throw new Error('attachFrontDoor: the server has no connection listener');
  server.removeListener('connection', nodeListener);
  const front = new FrontDoor(server, handler, nodeListener);
  server.on('connection', (socket: Socket) => new ClientConnection(front, socket));
  // close() calls closeIdleConnections() (Node's httpServerPreClose); both kinds of connection are closed.
  const close = server.close;
  const closeIdle = server.closeIdleConnections;
  const closeAll = server.closeAllConnections;
  server.close = function (this: Server, cb?: (err?: Error) => void) {
    front.draining = true;
    return close.call(this, cb);
  } as Server['close'];
  server.closeIdleConnections = function (this: Server) {
    front.closeIdle();
    closeIdle.call(this);
  };
  server.closeAllConnections = function (this: Server) {
    front.closeAll();
    closeAll.call(this);
  };
  return front;
}
