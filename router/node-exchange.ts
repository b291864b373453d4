/**
 * A request that came through Node's http.Server (what the front door hands over: upgrades, Expect, HTTP/1.0),
 * seen as the front door's Inbound and Reply, and the error page either kind of request is answered with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errorBody, type RouterError } from './error-pages.js';
import type { Inbound, Reply } from './front.js';
import { inspectHeaders, type HeaderFacts } from './headers.js';

export class NodeExchange implements Inbound, Reply {
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

function wantsJson(req: Inbound): boolean {
  const accept = req.facts.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

/** Heroku's error page for err (JSON when asked); a response already under way can only be cut. */
export function sendError(req: Inbound, res: Reply, err: RouterError): void {
  if (res.headSent) return void res.destroy();
  const { type, body } = errorBody(err, wantsJson(req));
  const bytes = Buffer.from(body);
  res.head(err.status, ['Content-Type', type, 'Content-Length', String(bytes.length), 'Cache-Control', 'no-store']);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
