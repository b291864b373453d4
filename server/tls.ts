/**
 * HTTPS beside HTTP on one port. The Heroku CLI turns HEROKU_HOST=http://HOST:PORT into git remotes
 * `https://HOST:PORT/APP.git`, so the API port answers both: a connection whose first byte opens a TLS handshake
 * (0x16) goes to the HTTPS server, anything else to the HTTP one. Both share one request handler.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Server as HttpServer, RequestListener } from 'node:http';
import { isIP, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import type { Config } from './config.js';

const run = promisify(execFile);
const TLS_HANDSHAKE = 0x16;

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Where the certificate is: clients that must trust a self-signed one point at it (GIT_SSL_CAINFO). */
  certFile: string;
}

/** Names a self-signed certificate covers: loopback, localhost and the public URL's host. */
export function subjectAltNames(publicHost: string): string {
  const names = new Set(['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']);
  const host = publicHost.replace(/^\[|\]$/g, '');
  if (/^[A-Za-z0-9.:-]{1,253}$/.test(host)) names.add(isIP(host) ? `IP:${host}` : `DNS:${host}`);
  return [...names].join(',');
}

/** The certificate and key from the config's files, or a self-signed pair made once under DATA/tls. */
export async function loadTls(config: Pick<Config, 'tls' | 'dataDir' | 'publicUrl'>): Promise<TlsMaterial | undefined> {
  if (!config.tls) return undefined;
  if (typeof config.tls === 'object') {
    const [cert, key] = await Promise.all([readFile(config.tls.certFile), readFile(config.tls.keyFile)]).catch((e: Error) => {
      throw new Error(`cannot read the TLS certificate or key: ${e.message}`);
    });
    return { cert, key, certFile: config.tls.certFile };
  }
  return selfSigned(join(config.dataDir, 'tls'), 'self-signed', subjectAltNames(new URL(config.publicUrl).hostname));
}

/**
 * The router's certificate for the platform's own names (*.BASE_DOMAIN and BASE_DOMAIN) and any name no app has a
 * certificate for: the operator's files (SLIPWAY_ROUTER_TLS_CERT/_KEY), else a self-signed one made once in DATA/tls.
 */
export async function loadRouterTls(config: Pick<Config, 'routerTls' | 'dataDir' | 'baseDomain'>): Promise<TlsMaterial> {
  if (config.routerTls) {
    const [cert, key] = await Promise.all([readFile(config.routerTls.certFile), readFile(config.routerTls.keyFile)]).catch((e: Error) => {
      throw new Error(`cannot read the router's TLS certificate or key: ${e.message}`);
    });
    return { cert, key, certFile: config.routerTls.certFile };
  }
  // RSA: behind an RSA default, SNI can serve app certificates of any key type (see router/tls.ts).
  return selfSigned(join(config.dataDir, 'tls'), 'router-self-signed', `DNS:*.${config.baseDomain},DNS:${config.baseDomain}`, 'rsa');
}

async function selfSigned(dir: string, base: string, san: string, keyType: 'ec' | 'rsa' = 'ec'): Promise<TlsMaterial> {
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  if (!(await stat(keyFile).then(() => true, () => false))) await makeSelfSigned(dir, base, san, keyType);
  return { cert: await readFile(certFile), key: await readFile(keyFile), certFile };
}

/**
 * A self-signed pair, made by one process while others (the api and agent roles start together) wait: the maker
 * holds DATA/tls/.making, writes both to temp names and renames the certificate, then the key, into place, so a
 * key that exists always has its certificate beside it.
 */
async function makeSelfSigned(dir: string, base: string, san: string, keyType: 'ec' | 'rsa'): Promise<void> {
  const [certFile, keyFile, lockFile] = [join(dir, `${base}.crt`), join(dir, `${base}.key`), join(dir, `.making-${base}`)];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (await stat(keyFile).then(() => true, () => false)) return;
    const lock = await open(lockFile, 'wx', 0o600).catch(() => undefined);
    if (!lock) {
      const age = await stat(lockFile).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 30_000) await rm(lockFile, { force: true }); // a maker that died
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      const tmp = `.tmp-${process.pid}`;
      await run('openssl', [
        'req', '-x509', ...(keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']), '-nodes', '-days', '825',
        '-subj', '/CN=slipway', '-addext', `subjectAltName=${san}`, '-keyout', keyFile + tmp, '-out', certFile + tmp,
      ]);
      await rename(certFile + tmp, certFile);
      await rename(keyFile + tmp, keyFile);
      return;
    } finally {
      await lock.close();
      await rm(lockFile, { force: true });
    }
  }
  throw new Error(`the self-signed certificate in ${dir} was not made within a minute`);
}

/** A client must send its first byte within this, and finish a TLS handshake within this after (slowloris). */
export const FIRST_BYTE_TIMEOUT_MS = 10_000;

/** Calls then(first byte) once the client has sent one; a client silent for FIRST_BYTE_TIMEOUT_MS is closed. */
function onFirstByte(socket: Socket, then: (first: number) => void, timeoutMs = FIRST_BYTE_TIMEOUT_MS): void {
  socket.on('error', () => undefined);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.once('readable', () => {
    const first = socket.read(1) as Buffer | null;
    if (!first) return void socket.destroy();
    socket.setTimeout(0);
    socket.unshift(first);
    then(first[0]);
    socket.resume();
  });
}

/**
 * A plain port in front of http: a connection is handed over once its first byte came (Node's http.Server keeps a
 * connection that never sends one for ever, whatever its headersTimeout).
 */
export function firstByteFront(http: HttpServer, timeoutMs = FIRST_BYTE_TIMEOUT_MS): NetServer {
  return createNetServer({ pauseOnConnect: true }, (socket: Socket) => onFirstByte(socket, () => http.emit('connection', socket), timeoutMs));
}

/**
 * A port split by its first byte: a connection that opens a TLS handshake goes to tlsServer, anything else to
 * other(socket) (a plain handler, or a line refusing it).
 */
export function tlsOrElse(tlsServer: TlsServer, other: (socket: Socket) => void, timeoutMs = FIRST_BYTE_TIMEOUT_MS): NetServer {
  // A handshake that fails or times out is only told (tlsClientError); the socket would stay open.
  tlsServer.on('tlsClientError', (_e, socket) => socket.destroy());
  return createNetServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket: Socket) => {
    onFirstByte(socket, (first) => (first === TLS_HANDSHAKE ? tlsServer.emit('connection', socket) : other(socket)), timeoutMs);
  });
}

/**
 * Listens on one port for both protocols. Returns the listening server; closing it stops accepting, and the
 * HTTP and HTTPS servers' connections are closed as usual (they track what was handed to them).
 */
export function dualProtocolServer(http: HttpServer, tls: TlsMaterial, handler: RequestListener, timeoutMs = FIRST_BYTE_TIMEOUT_MS): { listener: NetServer; https: HttpsServer } {
  const https = createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', handshakeTimeout: timeoutMs }, handler);
  https.headersTimeout = http.headersTimeout;
  https.requestTimeout = http.requestTimeout;
  const listener = createNetServer({ pauseOnConnect: true }, (socket: Socket) => {
    onFirstByte(socket, (first) => (first === TLS_HANDSHAKE ? https : http).emit('connection', socket), timeoutMs);
  });
  return { listener, https };
}
