/**
 * One request on its way through the router: its attempts at dynos (a retry goes to another one), the response
 * streamed back, H15 watching, and its log line. A class, not closures: nothing is allocated per request beyond
 * this object and its strings. A refused connection (a dyno going away between two route updates) is retried on
 * the next dyno when the request has no body, so a deploy drops nothing, and that dyno is passed over a while.
 */
import type { Socket } from 'node:net';
import { ERRORS, type RouterError } from './error-pages.js';
import type { Forwarding } from './forwarding.js';
import type { InFlight, Inbound, Reply } from './front.js';
import { logLine, type LineFields } from './log-line.js';
import { sendError } from './node-exchange.js';
import type { DynoPicker } from './pick.js';
import type { Endpoint, Route } from './routes.js';
import type { Exchange, UpstreamError, UpstreamHandler, UpstreamPool } from './upstream.js';

/** Connect failures: nothing reached the dyno, so any request may go to the next one. */
const RETRYABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A response being streamed, checked for H15 (no byte to the client for idleMs while it was not the slow one). */
export interface Streaming {
  req: Inbound;
  res: Reply;
  idleMs: number;
  seen: number;
  since: number;
  onIdle(): void;
}

/** What a flight needs of the router around it. */
export interface FlightContext {
  picker: DynoPicker;
  poolFor(e: Endpoint, key: string): UpstreamPool;
  streaming: Set<Streaming>;
  logLine?: (route: Route, line: string) => void;
  /** The first response byte must arrive within this, unless the app set its own. */
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

export class Flight implements UpstreamHandler, Streaming, InFlight {
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
    readonly ctx: FlightContext, readonly req: Inbound, readonly res: Reply, readonly route: Route, readonly host: string, readonly path: string,
    readonly fw: Forwarding, readonly headers: string[], readonly hasBody: boolean, readonly chunked: boolean,
  ) {
    this.socket = req.socket;
    this.sentBytes = this.socket.bytesWritten;
    this.idleMs = route.idleTimeoutMs ?? ctx.idleTimeoutMs;
  }

  /** The log line's fields; `fwd=` only on a completed request's line, the timings only once a dyno was tried. */
  private fields(status: number, done = false): LineFields {
    return {
      method: this.req.method, path: this.path, host: this.host, requestId: this.fw.requestId, fwd: done ? this.fw.fwd : undefined, dyno: this.ep?.dyno ?? '',
      connectMs: this.connected, serviceMs: Date.now() - this.fw.received, status, bytes: this.socket.bytesWritten - this.sentBytes, protocol: 'http',
    };
  }

  private log(f: LineFields, error?: RouterError): void {
    this.ctx.logLine?.(this.route, logLine(f, error));
  }

  attempt(): void {
    const ep = this.ctx.picker.pick(this.route, this.tried);
    if (!ep) {
      this.finished = true;
      const err = this.tried ? ERRORS.H13 : this.route.crashed ? ERRORS.H10 : ERRORS.H14;
      this.log({ method: this.req.method, path: this.path, host: this.host, requestId: this.fw.requestId, dyno: this.ep?.dyno ?? '', status: err.status }, err);
      return sendError(this.req, this.res, err);
    }
    this.ep = ep;
    this.key = this.ctx.picker.keyOf(ep);
    (this.tried ??= []).push(this.key);
    this.exchange = this.ctx.poolFor(ep, this.key).dispatch(
      {
        path: this.path, method: this.req.method, headers: this.headers, body: this.hasBody ? this.req.body : null,
        chunked: this.chunked, headersTimeoutMs: this.route.requestTimeoutMs ?? this.ctx.requestTimeoutMs,
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
    this.connected = Date.now() - this.fw.received;
    this.answered = true;
    if (this.route.hsts && this.fw.proto === 'https' && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'strict-transport-security')) {
      headers.push('Strict-Transport-Security', 'max-age=31536000');
    }
    this.res.head(status, headers);
    this.resumeDyno = resume;
    this.ctx.streaming.add(this); // H15: once the response started, idleMs without a byte from the dyno ends it
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
    this.ctx.streaming.delete(this);
    if (this.finished) return;
    this.finished = true;
    if (!this.ended) this.res.end();
    this.log(this.fields(this.res.status, true));
  }

  onIdle(): void {
    this.finished = true;
    this.log(this.fields(this.res.status), ERRORS.H15);
    this.exchange?.abort(new Error('idle'));
    this.res.destroy();
  }

  onError(e: UpstreamError): void {
    this.ctx.streaming.delete(this);
    if (this.finished) return;
    const { req, res } = this;
    const code = e.code;
    if (RETRYABLE.has(code)) this.ctx.picker.markDown(this.key);
    if (res.destroyed || (req.gone && !this.answered)) {
      this.finished = true;
      this.log(this.fields(499), ERRORS.H27);
      return void res.destroy();
    }
    if (this.answered) {
      // The response started: it can only be cut, logged with its code, never given a second status.
      this.finished = true;
      this.log(this.fields(res.status), ERRORS.H18);
      return void res.destroy();
    }
    // Nothing reached the dyno (refused), or a pooled keep-alive connection closed under us as the dyno
    // stopped: a request without a body is safe to send to the next dyno.
    const reset = code === 'CLOSED' && IDEMPOTENT.has(req.method);
    if ((RETRYABLE.has(code) || reset) && !this.hasBody && this.tried!.length < 3) return this.attempt();
    this.finished = true;
    const err = code === 'HEADERS_TIMEOUT' ? ERRORS.H12 : code === 'INTERNAL' ? ERRORS.H99 : ERRORS.H13;
    this.log(this.fields(err.status), err);
    sendError(req, res, err);
  }
}
