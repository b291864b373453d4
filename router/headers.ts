/** Header names the router treats specially: hop-by-hop ones, and what makes a valid name. */

/** Headers about one connection, never forwarded either way. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** The lengths of those names and of content-length: only names this long need lowercasing to be recognized. */
export const HOP_LENGTHS = new Set([...HOP_BY_HOP, 'content-length'].map((h) => h.length));

/** The names a Connection header lists (they are hop-by-hop too). */
export const connectionNames = (value: string): Set<string> => new Set(value.toLowerCase().split(',').map((h) => h.trim()).filter(Boolean));

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
