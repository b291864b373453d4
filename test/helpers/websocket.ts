/**
 * Just enough RFC 6455 for tests, since Node 20 has no WebSocket client: the handshake (both sides), and short
 * text frames (client frames masked, as the RFC requires).
 */
import { createHash, randomBytes } from 'node:crypto';
import { request, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptKey = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

export function encodeFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('test frames are short');
  const key = mask ? randomBytes(4) : undefined;
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!key) return Buffer.concat([head, payload]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]))]);
}

/** Reads whole text frames from a socket, calling onText for each. */
function readFrames(socket: Duplex, onText: (text: string) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      const masked = (buf[1] & 0x80) !== 0;
      const len = buf[1] & 0x7f;
      const total = 2 + (masked ? 4 : 0) + len;
      if (len > 125) throw new Error('test frames are short');
      if (buf.length < total) return;
      const key = masked ? buf.subarray(2, 6) : undefined;
      const payload = Buffer.from(buf.subarray(total - len, total));
      if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i % 4];
      if ((buf[0] & 0x0f) === 1) onText(payload.toString());
      buf = buf.subarray(total);
    }
  });
}

/** Makes an HTTP server answer websocket upgrades by echoing each text frame, prefixed. */
export function echoWebSockets(server: Server, prefix: string): void {
  server.on('upgrade', (req, socket: Duplex) => {
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') return void socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
    readFrames(socket, (text) => socket.write(encodeFrame(`${prefix}${text}`, false)));
  });
}

/**
 * Opens a websocket to ws://127.0.0.1:port/ (wss:// with tls: SNI host, trusting ca) with a Host header; send()
 * resolves with the next text frame.
 */
export function openWebSocket(port: number, host: string, tls?: { ca: string[] }): Promise<{ send(text: string): Promise<string>; close(): void }> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const headers = { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': key };
    const req = tls
      ? httpsRequest({ host: '127.0.0.1', port, path: '/ws', headers, servername: host, ca: tls.ca })
      : request({ host: '127.0.0.1', port, path: '/ws', headers });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.on('upgrade', (res, socket) => {
      if (res.headers['sec-websocket-accept'] !== acceptKey(key)) return reject(new Error('bad Sec-WebSocket-Accept'));
      const waiting: ((t: string) => void)[] = [];
      readFrames(socket, (text) => waiting.shift()?.(text));
      resolve({
        send: (text) =>
          new Promise((r, j) => {
            waiting.push(r);
            socket.write(encodeFrame(text, true));
            setTimeout(() => j(new Error('no websocket answer within 5 s')), 5000).unref();
          }),
        close: () => socket.destroy(),
      });
    });
    req.end();
  });
}
