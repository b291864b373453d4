/**
 * A reference for bench/router, not the product: the leanest forwarder on undici's Pool (keep-alive, the
 * client's headers as they are, no route lookup, no log line, no timeouts). The router's own client
 * (router/upstream.ts) replaced undici on the hot path only because it measured ahead of even this.
 * argv: LISTEN_PORT UPSTREAM_PORT. Prints "ready" when listening.
 */
import { createServer } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);

const server = createServer((req, res) => {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (!HOP.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: null }, {
    onConnect() {},
    onHeaders(status, raw, resume) {
      const out: string[] = [];
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i].toString('latin1');
        if (!HOP.has(k.toLowerCase())) out.push(k, raw[i + 1].toString('latin1'));
      }
      res.writeHead(status, out);
      res.on('drain', resume);
      return true;
    },
    onData: (chunk) => res.write(chunk),
    onComplete: () => void res.end(),
    onError: () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  });
});
server.keepAliveTimeout = 60_000;
server.listen(listenPort, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
