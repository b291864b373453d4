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

/** A refusal written straight to an upgrade's socket (there is no response object to write one with). */
export const refuseUpgrade = (socket: Duplex, status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
