/**
 * The router's TLS port. SNI picks the certificate: the one of the app serving that hostname (the certificate its
 * domain is associated with, else one whose names cover it), else the platform's (for *.BASE_DOMAIN, and for any
 * name no app covers, which then gets the usual 404). Secure contexts are made once per certificate version, so a
 * changed certificate is served on the next handshake and open connections keep theirs; a certificate's key is
 * opened then, at its first handshake, not when routes load. ALPN offers h2 and
 * http/1.1; decrypted connections go to the same router as plain ones (onSecure), which tells dynos
 * X-Forwarded-Proto: https and speaks HTTP/1.1 to them either way.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from 'node:tls';
import type { Route, RouteCertificate, RouteTable } from './routes.js';

export interface TlsFrontOptions {
  routes: RouteTable;
  /** The platform's certificate (PEM chain) and key. */
  platform: { cert: string | Buffer; key: string | Buffer };
  /** A decrypted connection, for the HTTP router (socket.alpnProtocol says h2 or http/1.1). */
  onSecure(socket: TLSSocket): void;
  /** A certificate that could not be loaded (the platform's is served instead). */
  onWarning?(message: string): void;
  /** The TLS handshake must finish within this (10 s). */
  handshakeTimeoutMs?: number;
  /** Opens a sealed key (the platform's KeyBox); without it, certificates must come with their keys as PEM. */
  openKey?(sealed: string): Promise<string>;
}

const MAX_CONTEXTS = 10_000;

const wildcardOf = (host: string) => {
  const dot = host.indexOf('.');
  return dot > 0 ? `*${host.slice(dot)}` : undefined;
};

/**
 * Whether a certificate name covers a hostname: exactly, or a wildcard of exactly one label. An app's wildcard
 * domain (*.example.com) is covered by the same wildcard only. Upload checks use it too (cert-check.ts).
 */
export function nameCovers(name: string, hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (name === host) return true;
  return name.startsWith('*.') && !host.startsWith('*.') && wildcardOf(host) === name;
}

/** The certificate an app serves for a hostname: the one its domain names, else one whose names cover it. */
export function certificateFor(route: Route | undefined, servername: string): RouteCertificate | undefined {
  const certs = route?.certificates;
  if (!certs?.length) return undefined;
  const host = servername.toLowerCase();
  const wild = wildcardOf(host);
  return certs.find((c) => c.serves.includes(host) || (wild !== undefined && c.serves.includes(wild))) ?? certs.find((c) => c.names.some((n) => nameCovers(n, host)));
}

/** The DNS names a PEM certificate (the first of a chain) is for. */
export function certificateNames(pem: string | Buffer): string[] {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return san.split(',').map((p) => p.trim()).filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4).toLowerCase());
}

export function createTlsFront(o: TlsFrontOptions): { server: Server; contexts: () => number; covers(servername: string, host: string): boolean } {
  const platform = createSecureContext({ cert: o.platform.cert, key: o.platform.key, minVersion: 'TLSv1.2' });
  const platformNames = certificateNames(o.platform.cert);
  // Secure contexts by certificate id, most recently used last; past MAX_CONTEXTS the least recently used go (a
  // removed certificate's context is never used again).
  const contexts = new Map<string, { version: string; ctx: Promise<SecureContext> }>();
  const keyOf = async (c: RouteCertificate): Promise<string> => {
    if (typeof c.key === 'string') return c.key;
    if (!o.openKey) throw new Error('a sealed key and nothing to open it with');
    return o.openKey(c.key.sealed);
  };
  const contextOf = (c: RouteCertificate): Promise<SecureContext> => {
    const known = contexts.get(c.id);
    contexts.delete(c.id);
    const entry = known?.version === c.version ? known : { version: c.version, ctx: keyOf(c).then((key) => createSecureContext({ cert: c.chain, key, minVersion: 'TLSv1.2' })) };
    contexts.set(c.id, entry);
    entry.ctx.catch(() => contexts.get(c.id) === entry && contexts.delete(c.id)); // tried again at the next handshake
    if (contexts.size > MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    return entry.ctx;
  };
  // With TLS 1.3, OpenSSL keeps serving the default context's certificate when SNI switches to a context whose key
  // is of another type and the default's is not RSA (an RSA app certificate behind an EC default). An RSA default
  // serves any app's; with another, the default has no certificate and only clients that send SNI are served.
  const rsaDefault = createPrivateKey(o.platform.key).asymmetricKeyType === 'rsa';
  if (!rsaDefault) o.onWarning?.('the platform certificate is not RSA: TLS clients that send no SNI (an IP address as the host) get no certificate');
  const server = createServer({
    ...(rsaDefault ? { cert: o.platform.cert, key: o.platform.key } : {}), minVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'],
    noDelay: true, // as http.Server's sockets: a response is not held back for Nagle
    handshakeTimeout: o.handshakeTimeoutMs ?? 10_000, // a client that opens a connection and never finishes the handshake
    SNICallback(servername, cb) {
      const cert = certificateFor(o.routes.lookup(servername.toLowerCase()), servername);
      if (!cert) return cb(null, platform);
      contextOf(cert).then((ctx) => cb(null, ctx), (e: Error) => {
        o.onWarning?.(`the certificate for ${servername} could not be loaded (${e.message}); serving the platform's`);
        cb(null, platform);
      });
    },
  }, (socket) => o.onSecure(socket));
  // A failed or timed-out handshake: Node tells, but leaves the connection open for whoever listens to end it.
  server.on('tlsClientError', (_e, socket) => socket.destroy());
  return {
    server,
    contexts: () => contexts.size,
    /** Whether the certificate SNI chose for servername covers host (else a request for host is misdirected: 421). */
    covers(servername, host) {
      const names = certificateFor(o.routes.lookup(servername.toLowerCase()), servername)?.names ?? platformNames;
      return names.some((n) => nameCovers(n, host));
    },
  };
}
