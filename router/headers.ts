/** Header names the router treats specially: hop-by-hop ones, and what makes a valid name. */

/** Headers about one connection, never forwarded either way. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** The lengths of those names and of content-length: only names this long need lowercasing to be recognized. */
export const HOP_LENGTHS = new Set([...HOP_BY_HOP, 'content-length'].map((h) => h.length));

/**
 * Headers a Connection header can never remove: the request's target and framing. Dropping Content-Length because a
 * client listed it (`Connection: keep-alive, Content-Length`) would forward an unframed body on a reused dyno
 * connection, where it would be read as the start of the next client's request.
 */
const NEVER_NAMED = new Set(['host', 'content-length', 'transfer-encoding']);

/** The names a Connection header lists (they are hop-by-hop too), less those it may never name. */
export const connectionNames = (value: string): Set<string> =>
  new Set(value.toLowerCase().split(',').map((h) => h.trim()).filter((h) => h && !NEVER_NAMED.has(h)));

/**
 * Request headers a client may not send a dyno: forwarding headers the router sets itself (a client cannot forge
 * them), and those that other proxies trust for the client's address or host (Forwarded, X-Forwarded-Host,
 * X-Real-IP), which the router does not set and drops. Content-Length is the router's too: it sets the framing it
 * forwards.
 */
export const NOT_FROM_CLIENTS = ['forwarded', 'x-forwarded-host', 'x-real-ip'];
export const SET_BY_ROUTER = new Set([
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-request-id', 'x-request-start', 'via', 'content-length', ...NOT_FROM_CLIENTS,
]);

/** A Content-Length as the router forwards it: its digits without leading zeros (llhttp took nothing else). */
export const canonicalLength = (value: string): string => value.trim().replace(/^0+(?=\d)/, '');

/**
 * The path a dyno gets for a request target: origin-form as it is; absolute-form (`GET http://HOST/p`, which
 * RFC 9112 says a server routes by its authority) turned into its path, and refused when its authority is not the
 * Host the router routed by, so a dyno never sees a target that names another app.
 */
export function originForm(target: string, host: string | undefined): { path: string } | { refused: string } {
  if (target.startsWith('/') || target === '*') return { path: target };
  const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(target);
  if (!m) return { refused: 'a request target that is neither a path nor an http URL' };
  const authority = m[1].toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
  if (m[1].includes('@')) return { refused: 'credentials in the request target' };
  if (!host || authority !== host) return { refused: 'an absolute-form target whose host is not the Host header' };
  const rest = m[2];
  return { path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** An HTTP token: what a header name must be. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What the router needs to know of a request's headers, found in one pass over the raw list. */
export interface HeaderFacts {
  /** How many Host headers (more than one is refused). */
  hosts: number;
  host: string | undefined;
  contentLength: string | undefined;
  /** Transfer-Encoding values, joined as Node joins repeated headers. */
  transferEncoding: string | undefined;
  connection: string | undefined;
  requestId: string | undefined;
  accept: string | undefined;
  expect: boolean;
}

/** One pass over flat [name, value, …]; only names of the lengths looked for are lowercased. */
export function inspectHeaders(raw: string[]): HeaderFacts {
  const f: HeaderFacts = { hosts: 0, host: undefined, contentLength: undefined, transferEncoding: undefined, connection: undefined, requestId: undefined, accept: undefined, expect: false };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          f.hosts++;
          f.host = raw[i + 1];
        }
        break;
      case 6:
        if (name.toLowerCase() === 'accept') f.accept = raw[i + 1];
        else if (name.toLowerCase() === 'expect') f.expect = true;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') f.connection = f.connection === undefined ? raw[i + 1] : `${f.connection}, ${raw[i + 1]}`;
        break;
      case 12:
        if (name.toLowerCase() === 'x-request-id') f.requestId = raw[i + 1];
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') f.contentLength = raw[i + 1];
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') f.transferEncoding = f.transferEncoding === undefined ? raw[i + 1] : `${f.transferEncoding}, ${raw[i + 1]}`;
        break;
    }
  }
  return f;
}

/**
 * Whether the client framed a body (a GET with Content-Length has one too): the front door reads it and the
 * router forwards it by this one rule, so no byte of it is ever read as a next request.
 */
export const framesBody = (f: HeaderFacts): boolean => (f.contentLength !== undefined && f.contentLength !== '0') || f.transferEncoding !== undefined;
