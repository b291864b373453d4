/**
 * An HTTP/2 request at the edge (ALPN h2 on the TLS port), seen as the router's Inbound and Reply so it takes the
 * same path as an HTTP/1.1 one and reaches the dyno as HTTP/1.1 (what Heroku's router does): :authority becomes
 * Host, the other pseudo-headers are dropped, and a body with no Content-Length is forwarded chunked. Response
 * headers that HTTP/2 forbids (connection-specific ones) never reach the client.
 */
import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Inbound, Reply } from './front.js';
import { inspectHeaders, type HeaderFacts } from './headers.js';

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** The request's headers as HTTP/1.1 has them: Host from :authority, no pseudo-headers, chunked when a body has no length. */
export function h1Headers(raw: string[], hasBody: boolean): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  let length = false;
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name === ':authority') authority = raw[i + 1];
    if (name.startsWith(':')) continue;
    const lower = name.toLowerCase();
    if (lower === 'host') host = true;
    if (lower === 'content-length') length = true;
    if (lower === 'transfer-encoding') continue; // not HTTP/2's; the router frames the body itself
    // HTTP/2 may split Cookie into several fields; HTTP/1.1 has one, joined by "; " (RFC 9113, 8.2.3).
    if (lower === 'cookie') cookies.push(raw[i + 1]);
    else out.push(name, raw[i + 1]);
  }
  if (cookies.length) out.push('cookie', cookies.join('; '));
  if (!host && authority !== undefined) out.unshift('host', authority);
  if (hasBody && !length) out.push('transfer-encoding', 'chunked');
  return out;
}

/** Flat response headers as an HTTP/2 header object: connection-specific ones left out, repeats (Set-Cookie) kept. */
export function h2Headers(flat: string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const had = out[name];
    out[name] = had === undefined ? flat[i + 1] : [...(Array.isArray(had) ? had : [had]), flat[i + 1]];
  }
  return out;
}

export class H2Exchange implements Inbound, Reply {
  readonly rawHeaders: string[];
  readonly facts: HeaderFacts;
  readonly httpMajor = 2;
  constructor(readonly req: Http2ServerRequest, readonly res: Http2ServerResponse) {
    this.rawHeaders = h1Headers(req.rawHeaders, !req.stream.endAfterHeaders);
    this.facts = inspectHeaders(this.rawHeaders);
  }
  get method() { return this.req.method; }
  get url() { return this.req.url; }
  get body(): Readable { return this.req; }
  get socket(): Socket { return this.req.socket as Socket; }
  get gone() { return this.req.stream.destroyed; }
  get headSent() { return this.res.headersSent; }
  get status() { return this.res.statusCode; }
  get destroyed() { return this.res.stream.destroyed; }
  get finished() { return this.res.stream.writableFinished; }
  get needDrain() { return this.res.stream.writableNeedDrain; }
  head(status: number, headers: string[]): void { this.res.writeHead(status, h2Headers(headers)); }
  write(chunk: Buffer): boolean { return this.res.write(chunk); }
  end(chunk?: Buffer): void {
    if (chunk) this.res.end(chunk);
    else this.res.end();
  }
  onceDrain(fn: () => void): void { this.res.stream.once('drain', fn); }
  destroy(): void { this.res.stream.destroy(); }
  /** A stream ends on its own; the connection carries others. */
  closeAfter(): void {}
}
