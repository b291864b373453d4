import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ERRORS, errorBody, type RouterError } from './error-pages.js';
import { normalizeHost } from './host.js';

/** Where an app's web dynos are reachable. Endpoints are addresses, never local handles. */
export interface Route {
  app: string;
  maintenance: boolean;
  endpoints: { host: string; port: number; dyno: string }[];
}

/** The route table the proxy reads; filled and kept current by a syncer. */
export interface RouteTable {
  lookup(hostname: string): Route | undefined;
}

export interface RouterOptions {
  routes: RouteTable;
  logLine?: (app: string | undefined, line: string) => void;
}

function sendError(req: IncomingMessage, res: ServerResponse, err: RouterError): void {
  const wantsJson = /application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? '');
  const { type, body } = errorBody(err, wantsJson);
  res.writeHead(err.status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The front door. Proxying to dynos comes with the runner; today every host is answered from the table. */
export function createRouterServer(opts: RouterOptions): Server {
  return createServer((req, res) => {
    const host = normalizeHost(req.headers.host);
    const route = host ? opts.routes.lookup(host) : undefined;
    if (!route) return sendError(req, res, ERRORS.noSuchApp);
    if (route.maintenance) return sendError(req, res, ERRORS.H80);
    if (route.endpoints.length === 0) {
      opts.logLine?.(route.app, `at=error code=H14 desc="${ERRORS.H14.desc}" method=${req.method} path="${req.url}" host=${host} dyno= status=503`);
      return sendError(req, res, ERRORS.H14);
    }
    sendError(req, res, ERRORS.H99);
  });
}
