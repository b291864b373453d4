/**
 * The router's HTTP/1.1 client to dynos: keep-alive connections per dyno address; a request head written as one
 * buffer; a response read with only what a proxy needs (status line, headers, and where the body ends: by
 * Content-Length, chunked, or the dyno closing). Nothing is buffered beyond the response head: body bytes go to
 * the handler as they arrive, and a handler that cannot take more pauses the dyno's socket.
 *
 * Chosen by bench/router over undici's Pool (which it replaced on the plain-HTTP path; see docs/benchmarks.md):
 * undici's per-request machinery was most of the router's own CPU. Upgrades still go through http-proxy.
 *
 * A response the router could not forward faithfully (a malformed status line, header or chunk size; framing
 * that disagrees with itself) ends the exchange with BAD_RESPONSE, and its connection is never used again.
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { keepAliveHint, parseResponseHead } from './response-head.js';

export interface UpstreamRequest {
  method: string;
  /** The request target as the client sent it (Node's parser already refused spaces and control bytes). */
  path: string;
  /** Flat [name, value, …], written in this order and spelling (latin1, as Node read them). */
  headers: string[];
  /** The request body as Node de-framed it, or null. */
  body: Readable | null;
  /** Send the body chunked (the caller added `Transfer-Encoding: chunked`); else its Content-Length is in headers. */
  chunked: boolean;
  /** The whole response head must arrive within this. */
  headersTimeoutMs: number;
}

export interface UpstreamHandler {
  /**
   * The dyno's status and headers (flat, in its order and spelling), less hop-by-hop ones (Connection, Keep-Alive,
   * Transfer-Encoding…, and any the Connection header names): they were about the dyno's connection, and the
   * caller frames its own. resume() restarts a dyno paused by onData returning false.
   */
  onHeaders(status: number, headers: string[], resume: () => void): void;
  /**
   * A piece of the body; false pauses the dyno's socket until resume(). `last`: the body ends with this piece
   * (onComplete follows at once), so the caller may end its response with it.
   */
  onData(chunk: Buffer, last: boolean): boolean;
  onComplete(): void;
  /** Called at most once, never after onComplete. */
  onError(e: UpstreamError): void;
}

/**
 * ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, CONNECT_TIMEOUT: nothing reached the dyno. CLOSED: the connection
 * ended before the response did. HEADERS_TIMEOUT, BAD_RESPONSE, ABORTED (the caller's abort), INTERNAL (a
 * handler threw).
 */
export class UpstreamError extends Error {
  constructor(readonly code: string, message: string, cause?: Error) {
    super(message, cause ? { cause } : undefined);
  }
}

export interface Exchange {
  abort(e?: Error): void;
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 1024;
const CONNECT_TIMEOUT_MS = 5_000;
/** Connections kept idle per dyno; more are closed once their response is done. */
const MAX_IDLE = 256;
/** The longest a connection is kept idle. */
const IDLE_MS = 60_000;
const CRLF2 = Buffer.from('\r\n\r\n');
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r\n]*)?$/;

const enum State { Idle, Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose }

class Pending implements Exchange {
  done = false;
  /** The request (head and body) is all on the wire: the connection may be reused once the response is done. */
  sent = false;
  bodyPaused = false;
  /** When the response head is due (ms epoch); checked by the sweep below. */
  deadline = 0;
  constructor(readonly conn: Connection, readonly req: UpstreamRequest, readonly handler: UpstreamHandler) {}
  abort(e?: Error): void {
    this.conn.fail(this, new UpstreamError('ABORTED', e?.message ?? 'aborted', e));
  }
  /** Given to the handler with the headers: resumes a dyno's socket that onData paused. */
  resume = (): void => {
    if (!this.done && this.conn.current === this) this.conn.socket.resume();
  };
}

/**
 * Exchanges waiting for a response head. One sweep every SWEEP_MS finds the late ones, cheaper than a timer set
 * and cleared per request; a timeout fires up to SWEEP_MS late.
 */
const waiting = new Set<Pending>();
const SWEEP_MS = 50;
let sweeper: NodeJS.Timeout | undefined;
function awaitHead(p: Pending): void {
  p.deadline = Date.now() + p.req.headersTimeoutMs;
  waiting.add(p);
  if (!sweeper) {
    sweeper = setInterval(() => {
      const now = Date.now();
      for (const w of waiting) {
        if (w.deadline <= now) w.conn.fail(w, new UpstreamError('HEADERS_TIMEOUT', `no response head within ${w.req.headersTimeoutMs} ms`));
      }
    }, SWEEP_MS);
    sweeper.unref();
  }
}

class Connection {
  readonly socket: Socket;
  current: Pending | undefined;
  /** When this idle connection stops being offered: a second before the dyno said it would close it. */
  idleUntil = 0;
  /** The dyno's `Keep-Alive: timeout=N`, less a second; else the router's own limit. */
  keepAliveMs = IDLE_MS;
  private connected = false;
  private reusable = true;
  private state = State.Idle;
  private head: Buffer | undefined;
  private remaining = 0;
  private line = '';
  private closed = false;
  private error: Error | undefined;

  constructor(readonly pool: UpstreamPool) {
    const s = connect({ host: pool.host, port: pool.port, noDelay: true });
    this.socket = s;
    const timer = setTimeout(() => s.destroy(new UpstreamError('CONNECT_TIMEOUT', `no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      this.connected = true;
    });
    s.on('data', (d: Buffer) => {
      try {
        this.read(d);
      } catch (e) {
        // A bug in a handler (or here) must not take the router down: the exchange ends, and it is reported.
        const p = this.current;
        if (p) this.fail(p, new UpstreamError('INTERNAL', `the router failed on a response: ${(e as Error).message}`, e as Error));
        else this.socket.destroy();
        this.pool.onBug?.(e as Error);
      }
    });
    s.on('drain', () => {
      const p = this.current;
      if (p?.bodyPaused && p.req.body) {
        p.bodyPaused = false;
        p.req.body.resume();
      }
    });
    s.on('end', () => {
      this.reusable = false;
      if (this.current && this.state === State.UntilClose) this.complete(this.current, false);
      s.end();
    });
    s.on('error', (e) => (this.error ??= e));
    s.on('close', () => {
      clearTimeout(timer);
      this.closed = true;
      this.pool.forget(this);
      const p = this.current;
      if (p) this.fail(p, this.closeError());
    });
  }

  private closeError(): UpstreamError {
    const e = this.error;
    if (e instanceof UpstreamError) return e;
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (!this.connected && code) return new UpstreamError(code, `cannot connect to ${this.pool.host}:${this.pool.port}: ${code}`, e);
    return new UpstreamError('CLOSED', `the dyno closed the connection before its response was complete${code ? ` (${code})` : ''}`, e);
  }

  get usable(): boolean {
    return !this.closed && this.reusable && !this.socket.destroyed;
  }

  send(p: Pending): void {
    this.current = p;
    this.state = State.Head;
    this.head = undefined;
    const { req } = p;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    const h = req.headers;
    for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
    head += '\r\n';
    awaitHead(p);
    this.socket.resume();
    this.socket.write(head, 'latin1');
    if (!req.body) {
      p.sent = true;
      return;
    }
    this.stream(p, req.body);
  }

  /** The request body, framed as the caller asked, with the dyno's backpressure passed back to the client. */
  private stream(p: Pending, body: Readable): void {
    const s = this.socket;
    const onData = (d: Buffer) => {
      if (p.done || d.length === 0) return;
      let ok: boolean;
      if (p.req.chunked) {
        s.cork();
        s.write(`${d.length.toString(16)}\r\n`, 'latin1');
        s.write(d);
        ok = s.write('\r\n', 'latin1');
        s.uncork();
      } else ok = s.write(d);
      if (!ok) {
        p.bodyPaused = true;
        body.pause();
      }
    };
    const onEnd = () => {
      detach();
      if (p.done) return;
      if (p.req.chunked) s.write('0\r\n\r\n', 'latin1');
      p.sent = true;
    };
    const onGone = () => {
      detach();
      if (!p.done && !p.sent) p.abort(new Error('the client went away while sending its body'));
    };
    const detach = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('aborted', onGone);
      body.off('error', onGone);
      body.off('close', onGone);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('aborted', onGone);
    body.once('error', onGone);
    body.once('close', onGone);
    body.resume();
  }

  fail(p: Pending, e: UpstreamError): void {
    if (p.done) return;
    p.done = true;
    waiting.delete(p);
    if (this.current === p) this.current = undefined;
    this.reusable = false;
    this.socket.destroy();
    if (p.bodyPaused) p.req.body?.resume();
    p.handler.onError(e);
  }

  /** `more`: bytes followed the response in the same read, which no request asked for. */
  private complete(p: Pending, more: boolean): void {
    p.done = true;
    waiting.delete(p);
    this.current = undefined;
    this.state = State.Idle;
    // A body the dyno did not wait for is still coming from the client: this connection cannot carry another
    // request. The rest of that body is read and dropped (Node's server does that once the response ends).
    if (!p.sent || more) this.reusable = false;
    if (p.bodyPaused) p.req.body?.resume();
    this.socket.resume();
    this.pool.release(this);
    p.handler.onComplete();
  }

  private bad(p: Pending, why: string): void {
    this.fail(p, new UpstreamError('BAD_RESPONSE', `the dyno's response is malformed: ${why}`));
  }

  /** Everything the dyno sends goes through here; a response is parsed as far as its bytes allow. */
  private read(data: Buffer): void {
    let d = data;
    let at = 0;
    while (at < d.length) {
      const p = this.current;
      if (!p) {
        // Bytes nobody asked for: the dyno is out of step with its own framing; this connection is done.
        this.reusable = false;
        this.socket.destroy();
        return;
      }
      switch (this.state) {
        case State.Head: {
          if (this.head) {
            d = Buffer.concat([this.head, d.subarray(at)]);
            at = 0;
            this.head = undefined;
          }
          const end = d.indexOf(CRLF2, at);
          if (end < 0) {
            if (d.length - at > MAX_HEAD) return this.bad(p, `a response head over ${MAX_HEAD} bytes`);
            this.head = d.subarray(at);
            return;
          }
          if (end - at > MAX_HEAD) return this.bad(p, `a response head over ${MAX_HEAD} bytes`);
          const text = d.toString('latin1', at, end);
          at = end + 4;
          if (!this.headers(p, text, at < d.length)) return;
          break;
        }
        case State.Length: {
          const chunk = this.take(d, at);
          at += chunk.length;
          if (!p.handler.onData(chunk, this.remaining === 0)) this.socket.pause();
          if (p.done) return;
          if (this.remaining === 0) this.complete(p, at < d.length);
          break;
        }
        case State.UntilClose: {
          if (!p.handler.onData(at === 0 ? d : d.subarray(at), false)) this.socket.pause();
          return;
        }
        case State.ChunkSize:
        case State.Trailers: {
          const nl = d.indexOf(10, at);
          const upto = nl < 0 ? d.length : nl + 1;
          this.line += d.toString('latin1', at, upto);
          at = upto;
          if (this.line.length > MAX_CHUNK_LINE) return this.bad(p, 'a chunk size or trailer line too long');
          if (nl < 0) return;
          if (!this.line.endsWith('\r\n')) return this.bad(p, 'a bare LF in chunked framing');
          const line = this.line.slice(0, -2);
          this.line = '';
          if (this.state === State.Trailers) {
            if (line === '') this.complete(p, at < d.length);
            break;
          }
          const m = CHUNK_SIZE.exec(line);
          if (!m) return this.bad(p, `the chunk size "${line.slice(0, 40)}"`);
          this.remaining = parseInt(m[1], 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const chunk = this.take(d, at);
          at += chunk.length;
          if (this.remaining === 0) {
            this.state = State.ChunkEnd;
            this.remaining = 2;
          }
          if (!p.handler.onData(chunk, false)) this.socket.pause();
          if (p.done) return;
          break;
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data (possibly split across reads).
          const want = this.remaining === 2 ? 13 : 10;
          if (d[at] !== want) return this.bad(p, 'a chunk not followed by CRLF');
          at++;
          if (--this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        default:
          return;
      }
    }
  }

  /** Up to `remaining` body bytes of d from `at`, counted off. */
  private take(d: Buffer, at: number): Buffer {
    const n = Math.min(this.remaining, d.length - at);
    this.remaining -= n;
    return d.subarray(at, at + n);
  }

  /** The response head: false when the exchange ended here (malformed, or the handler aborted). */
  private headers(p: Pending, text: string, more: boolean): boolean {
    const h = parseResponseHead(text);
    if (typeof h === 'string') return this.bad(p, h), false;
    const { code, headers, length, lengthAt, chunked, otherCoding, close } = h;
    if (code < 200) {
      // 100 Continue, 102, 103 Early Hints: informational; the final response follows on the same connection.
      if (code === 101) return this.bad(p, 'a 101 Switching Protocols to a request that asked for no upgrade'), false;
      return true;
    }
    if (h.keepAlive !== undefined) this.keepAliveMs = keepAliveHint(h.keepAlive, IDLE_MS);
    if (close) this.reusable = false;
    const bodyless = p.req.method === 'HEAD' || code === 204 || code === 304;
    if (bodyless) this.state = State.Idle;
    else if (otherCoding) return this.bad(p, 'a Transfer-Encoding other than chunked'), false;
    else if (chunked) {
      // Transfer-Encoding wins over Content-Length (which would then be wrong for the client), and such a
      // connection is not trusted with another request.
      if (length >= 0) {
        this.reusable = false;
        if (lengthAt >= 0) headers.splice(lengthAt, 2);
      }
      this.state = State.ChunkSize;
    } else if (length >= 0) {
      this.state = State.Length;
      this.remaining = length;
    } else {
      this.state = State.UntilClose;
      this.reusable = false;
    }
    waiting.delete(p);
    p.handler.onHeaders(code, headers, p.resume);
    if (p.done) return false;
    if (this.state === State.Idle || (this.state === State.Length && this.remaining === 0)) this.complete(p, more);
    return true;
  }
}

/** Connections to one dyno address. */
export class UpstreamPool {
  private idle: Connection[] = [];
  private all = new Set<Connection>();
  /** When this pool last had a request (for closing pools of dynos gone away). */
  used = 0;

  /** onBug: told of an exception thrown while handling a response (the exchange has ended with INTERNAL). */
  constructor(readonly host: string, readonly port: number, readonly onBug?: (e: Error) => void) {}

  dispatch(req: UpstreamRequest, handler: UpstreamHandler): Exchange {
    this.used = Date.now();
    let conn: Connection | undefined;
    while ((conn = this.idle.pop()) && (!conn.usable || conn.idleUntil <= this.used)) conn.socket.destroy();
    if (!conn) {
      conn = new Connection(this);
      this.all.add(conn);
    }
    const p = new Pending(conn, req, handler);
    conn.send(p);
    return p;
  }

  release(conn: Connection): void {
    if (!conn.usable || this.idle.length >= MAX_IDLE) {
      conn.socket.destroy();
      return;
    }
    if (conn.keepAliveMs <= 0) {
      conn.socket.destroy();
      return;
    }
    conn.idleUntil = Date.now() + conn.keepAliveMs;
    this.idle.push(conn);
  }

  forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes idle connections past their time. */
  closeIdle(now: number): void {
    for (const c of this.idle.filter((c) => c.idleUntil <= now)) c.socket.destroy();
  }

  get connections(): number {
    return this.all.size;
  }

  destroy(): void {
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle = [];
  }
}
