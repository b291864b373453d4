/**
 * Node's own binding of llhttp (lib/_http_common.js), the parser http.Server uses, as the router's front door
 * (front.ts) uses it: no public API exposes it, so frontDoorProblem() checks at start that it behaves as the
 * front door relies on, and the router falls back to http.Server where it does not.
 */
import { createRequire } from 'node:module';

export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(d: Buffer): number | (Error & { code?: string });
  finish(): number | (Error & { code?: string }) | undefined;
  close(): void;
  [k: number]: unknown;
}
interface ParserModule {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
  methods: string[];
}
export const { HTTPParser, methods } = ((): Partial<ParserModule> => {
  try {
    return createRequire(import.meta.url)('_http_common') as ParserModule;
  } catch {
    return {}; // a Node without it: frontDoorProblem() says so and the router uses http.Server alone
  }
})() as ParserModule;

/** Returned from the head callback: llhttp stops after this head (no body follows), as it does for an upgrade. */
export const STOP_AFTER_HEAD = 2;
export const KEEP_PARSING = 0;

/**
 * Why this Node's parser binding cannot carry the front door (undefined: it can). Checked once: two pipelined
 * requests, the first stopped after its head as the front stops it, the second with a body, then garbage that
 * must be refused with llhttp's own error.
 */
export function frontDoorProblem(): string | undefined {
  try {
    if (typeof HTTPParser !== 'function' || !Array.isArray(methods)) return 'node:_http_common has no HTTPParser';
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, 0, 0);
    const seen: string[] = [];
    p[HTTPParser.kOnHeaders] = () => seen.push('partial');
    p[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[], method: number, url: string) => {
      seen.push(`${methods[method]} ${url} ${major}.${minor} ${headers.join('=')}`);
      return seen.length === 1 ? STOP_AFTER_HEAD : KEEP_PARSING;
    };
    p[HTTPParser.kOnBody] = (b: Buffer) => seen.push(`body ${b.toString()}`);
    p[HTTPParser.kOnMessageComplete] = () => seen.push('complete');
    const first = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
    const d = Buffer.from(`${first}POST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 2\r\n\r\nhi`);
    const r1 = p.execute(d);
    p.initialize(HTTPParser.REQUEST, {}, 0, 0); // as after every stopped head
    const r2 = typeof r1 === 'number' ? p.execute(d.subarray(r1)) : r1;
    const r3 = p.execute(Buffer.from('host\r\n\r\n'));
    p.close();
    const want = ['GET /a 1.1 Host=x', 'complete', 'POST /b 1.1 Host=y=Content-Length=2', 'body hi', 'complete'];
    const refused = typeof r3 !== 'number' && r3.code === 'HPE_INVALID_METHOD';
    if (r1 !== first.length || r2 !== d.length - first.length || seen.join('|') !== want.join('|') || !refused) {
      return `Node's HTTP parser binding behaves differently (read ${String(r1)}, ${String(r2)}, ${String(r3)}: ${seen.join(' | ')})`;
    }
    return undefined;
  } catch (e) {
    return `Node's HTTP parser binding failed: ${(e as Error).message}`;
  }
}

