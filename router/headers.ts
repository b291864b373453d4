/** Header names as the router's hot path needs them: hop-by-hop ones, and lowercasing without a copy per request. */

/** Headers about one connection, never forwarded either way. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** The lengths of those names and of content-length: only names this long need lowercasing to be recognized. */
export const HOP_LENGTHS = new Set([...HOP_BY_HOP, 'content-length'].map((h) => h.length));

/** The names a Connection header lists (they are hop-by-hop too). */
export const connectionNames = (value: string): Set<string> => new Set(value.toLowerCase().split(',').map((h) => h.trim()).filter(Boolean));

export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const lowered = new Map<string, string>();
const CACHED = 1024;

/**
 * A valid header name in lower case, or undefined when it is not an HTTP token. The same few dozen names arrive
 * on every request, so their lower-case forms are kept (up to CACHED spellings; past that, computed each time).
 */
export function lowerName(name: string): string | undefined {
  const known = lowered.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) return undefined;
  const lower = name.toLowerCase();
  if (lowered.size < CACHED) lowered.set(name, lower);
  return lower;
}
