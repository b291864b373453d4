/**
 * A dyno's response head, read by the router's client (upstream.ts) for every response: what it must know to
 * forward it faithfully (status, headers less hop-by-hop ones, framing, whether the connection goes on), or
 * why it cannot.
 */
import { HOP_BY_HOP, HOP_LENGTHS, TOKEN, connectionNames } from './headers.js';

const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** A response head as the client needs it; see parseResponseHead. */
export interface ResponseHead {
  code: number;
  /** Flat [name, value, …] less hop-by-hop headers and those the Connection header names. */
  headers: string[];
  /** Content-Length, or -1; lengthAt: its index in headers (-1 when absent). */
  length: number;
  lengthAt: number;
  chunked: boolean;
  /** A Transfer-Encoding not ending in chunked. */
  otherCoding: boolean;
  /** The dyno will close the connection after this response (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** The Keep-Alive header's value, if any. */
  keepAlive?: string;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Parses a response head (the text before the blank line, CRLF line ends). Returns why it is malformed as a
 * string: a status line other than `HTTP/1.x NNN reason`, a header name that is not a token (which also refuses
 * obsolete line folding), a control character in a value, a bad or conflicting Content-Length.
 * Called for every response: one pass, no regular expression for the lines most responses carry.
 */
export function parseResponseHead(text: string): ResponseHead | string {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  if (!(eol >= 12 && text.startsWith('HTTP/1.') && (text[7] === '1' || text[7] === '0') && text[8] === ' ' &&
    isDigit(text.charCodeAt(9)) && text[9] !== '0' && isDigit(text.charCodeAt(10)) && isDigit(text.charCodeAt(11)) &&
    (eol === 12 || text[12] === ' ') && !BAD_VALUE.test(text.slice(0, eol)))) {
    return `the status line "${text.slice(0, Math.min(eol, 60))}"`;
  }
  const code = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 + (text.charCodeAt(11) - 48);
  const http10 = text[7] === '0';
  const head: ResponseHead = { code, headers: [], length: -1, lengthAt: -1, chunked: false, otherCoding: false, close: http10 };
  const out = head.headers;
  let named: Set<string> | undefined;
  for (let at = eol + 2; at < text.length; at = eol + 2) {
    eol = text.indexOf('\r\n', at);
    if (eol < 0) eol = text.length;
    const colon = text.indexOf(':', at);
    if (colon <= at || colon > eol) return `the header line "${text.slice(at, Math.min(eol, at + 60))}"`;
    const name = text.slice(at, colon);
    if (!TOKEN.test(name)) return `the header line "${text.slice(at, Math.min(eol, at + 60))}"`;
    const value = text.slice(colon + 1, eol).trim();
    if (BAD_VALUE.test(value)) return `a control character in the ${name} header`;
    // Only names as long as a hop-by-hop one or Content-Length are lowercased and looked at.
    const lower = HOP_LENGTHS.has(name.length) ? name.toLowerCase() : '';
    if (lower !== '' && HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const v = value.toLowerCase();
        if (v === 'close') head.close = true;
        else if (v === 'keep-alive') head.close &&= !http10;
        else {
          named = connectionNames(v);
          if (named.has('close')) head.close = true;
          else if (http10 && named.has('keep-alive')) head.close = false;
        }
      } else if (lower === 'keep-alive') head.keepAlive = value;
      else if (lower === 'transfer-encoding') {
        const codings = value.toLowerCase().split(',');
        head.chunked = codings[codings.length - 1].trim() === 'chunked';
        head.otherCoding = !head.chunked;
      }
      continue;
    }
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (head.length >= 0 && head.length !== Number(value))) return `Content-Length "${value.slice(0, 20)}"`;
      if (head.length >= 0) continue; // the same length twice: passed on once
      head.length = Number(value);
      head.lengthAt = out.length;
    }
    out.push(name, value);
  }
  if (named && named.size > (named.has('close') ? 1 : 0) + (named.has('keep-alive') ? 1 : 0)) {
    // The Connection header names other headers of this hop: they go too.
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) if (!named.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1]);
    head.headers = kept;
    head.lengthAt = kept.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-length');
  }
  return head;
}

let lastHint = '';
let lastHintMs = -1;
let lastCap = -1;
/** `Keep-Alive: timeout=5` → 4000 ms (a second of margin), at most capMs; the last one seen is remembered. */
export function keepAliveHint(value: string, capMs: number): number {
  if (value === lastHint && capMs === lastCap) return lastHintMs;
  lastCap = capMs;
  const t = /(?:^|[,\s])timeout\s*=\s*(\d{1,6})/i.exec(value);
  lastHint = value;
  lastHintMs = t ? Math.min(capMs, Number(t[1]) * 1000 - 1000) : capMs;
  return lastHintMs;
}
