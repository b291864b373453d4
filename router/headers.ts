/** Header names the router treats specially: hop-by-hop ones, and what makes a valid name. */

/** Headers about one connection, never forwarded either way. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** The lengths of those names and of content-length: only names this long need lowercasing to be recognized. */
export const HOP_LENGTHS = new Set([...HOP_BY_HOP, 'content-length'].map((h) => h.length));

/** The names a Connection header lists (they are hop-by-hop too). */
export const connectionNames = (value: string): Set<string> => new Set(value.toLowerCase().split(',').map((h) => h.trim()).filter(Boolean));

/** An HTTP token: what a header name must be. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
