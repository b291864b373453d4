/**
 * What the router tells a dyno about a request, decided once per request and applied alike to plain requests and
 * upgrades: X-Forwarded-For (the client's address, never appended to one it sent), X-Forwarded-Proto and -Port,
 * X-Request-Id (the client's when 20–200 safe characters, else a UUID), X-Request-Start (when the router got it, in
 * ms since the epoch, as Heroku's router sets it) and Via. Whatever a client sent of these, or of Forwarded,
 * X-Forwarded-Host and X-Real-IP, is dropped; the body's framing is the router's own.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { HOP_BY_HOP, NOT_FROM_CLIENTS, SET_BY_ROUTER, canonicalLength, connectionNames, type HeaderFacts } from './headers.js';

const REQUEST_ID = /^[A-Za-z0-9+/=_.-]{20,200}$/;

export interface Forwarding {
  requestId: string;
  /** The client's address (X-Forwarded-For, and fwd= in the log line). */
  fwd: string;
  proto: 'http' | 'https';
  port: string;
  /** When the router got the request, ms since the epoch. */
  received: number;
}

/** The port clients reached the router on, by protocol (X-Forwarded-Port). */
export interface PublicPorts {
  http?: number;
  https?: number;
}

export function forwardingOf(socket: Socket, facts: HeaderFacts, ports: PublicPorts): Forwarding {
  const given = facts.requestId;
  const secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  return {
    requestId: given !== undefined && REQUEST_ID.test(given) ? given : randomUUID(),
    fwd: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
    proto: secure ? 'https' : 'http',
    port: String((secure ? ports.https : ports.http) ?? socket.localPort ?? (secure ? 443 : 80)),
    received: Date.now(),
  };
}

/**
 * The headers a dyno gets, as a flat [name, value, …] list in the client's order and spelling: the client's,
 * less hop-by-hop ones (they describe the client's connection, not the router's pooled one to the dyno) and less
 * what the router sets, with the client's Content-Length in canonical form (Transfer-Encoding is added by the
 * caller) — never taken out by a Connection header.
 */
export function forwardedHeaders(raw: string[], facts: HeaderFacts, f: Forwarding): string[] {
  const named = facts.connection ? connectionNames(facts.connection) : undefined;
  const out: string[] = [];
  let via = '';
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || SET_BY_ROUTER.has(k) || named?.has(k)) {
      if (k === 'via') via = `${raw[i + 1]}, `;
      continue;
    }
    out.push(raw[i], raw[i + 1]);
  }
  if (facts.contentLength !== undefined && facts.transferEncoding === undefined) out.push('Content-Length', canonicalLength(facts.contentLength));
  out.push('X-Forwarded-For', f.fwd, 'X-Forwarded-Proto', f.proto, 'X-Forwarded-Port', f.port, 'X-Request-Id', f.requestId, 'X-Request-Start', String(f.received), 'Via', `${via}1.1 slipway`);
  return out;
}

/** The same, on the header object of an upgrade that http-proxy forwards (it keeps the hop-by-hop ones it needs). */
export function applyForwarding(headers: IncomingHttpHeaders, f: Forwarding): void {
  for (const name of NOT_FROM_CLIENTS) delete headers[name];
  headers['x-forwarded-for'] = f.fwd;
  headers['x-forwarded-proto'] = f.proto;
  headers['x-forwarded-port'] = f.port;
  headers['x-request-id'] = f.requestId;
  headers['x-request-start'] = String(f.received);
}
