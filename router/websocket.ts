/**
 * Websockets and other upgrades: once the router admitted one (its host routed, its target and headers sound) and
 * picked a dyno, http-proxy tunnels the sockets after the dyno agreed to switch protocols. A tunnel lives as long as
 * both ends: when either side's socket closes, the other is closed too (http-proxy alone would leave the dyno's side
 * open when the client vanishes without an error).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { applyForwarding, type Forwarding } from './forwarding.js';
import type { Endpoint } from './routes.js';

export function createTunnels() {
  const proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, changeOrigin: false });
  proxy.on('error', () => undefined); // every ws() call passes its own error callback
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    proxyReq.once('upgrade', (_res, dynoSocket: Duplex) => {
      socket.once('close', () => dynoSocket.destroy());
      dynoSocket.once('close', () => socket.destroy());
    });
  });
  return {
    /** Tunnels an admitted upgrade to the dyno at ep, with the router's forwarding headers and the target's path. */
    open(req: IncomingMessage, socket: Duplex, head: Buffer, ep: Endpoint, path: string, f: Forwarding): void {
      req.url = path;
      applyForwarding(req.headers, f);
      proxy.ws(req, socket, head, { target: { host: ep.host, port: ep.port } }, () => socket.destroy());
    },
    close: () => proxy.close(),
  };
}

/**
 * An upgrade's request head as the client sent it (names, values and order kept) but asking for no upgrade: Node's
 * server parsed it for the upgrade event, and the router's plain server reads it again as a plain request. Without
 * Upgrade (and HTTP2-Settings, and those tokens in Connection) its parser reads the body and the next request too.
 */
export function plainRequestHead(req: IncomingMessage): Buffer {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    let value = req.rawHeaders[i + 1];
    const lower = name.toLowerCase();
    if (lower === 'upgrade' || lower === 'http2-settings') continue;
    if (lower === 'connection') {
      value = value.split(',').map((t) => t.trim()).filter((t) => t && !/^(upgrade|http2-settings)$/i.test(t)).join(', ');
      if (!value) continue;
    }
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}
