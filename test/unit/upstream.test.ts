/**
 * The router's client to dynos (router/upstream.ts) against scripted TCP peers that send exact bytes: framing by
 * length, chunks and close; what makes a connection reusable or not; malformed responses; timeouts, refusals,
 * aborts; request bodies; backpressure; and a handler that throws.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { UpstreamPool, type UpstreamError, type UpstreamHandler, type UpstreamRequest } from '../../router/upstream.js';

interface Peer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Every request head received, in order. */
  heads: string[];
  /** Bytes received after request heads (bodies), per connection, concatenated. */
  raw: () => string;
  sockets: Set<Socket>;
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/**
 * A dyno stand-in: for each request head it reads, `answer` returns the bytes to send (as strings, written one
 * after another; '' pauses 5 ms, which splits reads; END closes the dyno's side), or null to stay silent.
 */
async function peer(answer: (head: string, n: number) => string[] | null): Promise<Peer> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  let received = '';
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', async (d: Buffer) => {
      received += d.toString('latin1');
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0 && /^[A-Z]+ /.test(buf)) {
        const head = buf.slice(0, end);
        // The body too, before answering: by its length, or up to the last chunk.
        const length = Number(/\r\nContent-Length: (\d+)/i.exec(head)?.[1] ?? 0);
        const last = /\r\nTransfer-Encoding: chunked/i.test(head) ? buf.indexOf('\r\n0\r\n\r\n', end) : -1;
        const bodyEnd = last >= 0 ? last + 7 : /chunked/i.test(head) ? Infinity : end + 4 + length;
        if (buf.length < bodyEnd) break;
        buf = buf.slice(bodyEnd);
        heads.push(head);
        const parts = answer(head, heads.length);
        if (!parts) continue;
        for (const part of parts) {
          if (part === '') await new Promise((r) => setTimeout(r, 5));
          else if (part === 'END') s.end();
          else if (!s.destroyed) s.write(Buffer.from(part, 'latin1'));
        }
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const p: Peer = { port: (server.address() as AddressInfo).port, heads, raw: () => received, sockets, get connections() { return connections; } } as Peer;
  return p;
}

interface Outcome {
  status?: number;
  headers?: string[];
  body: string;
  lasts: number;
  completed: boolean;
  error?: UpstreamError;
}

function request(pool: UpstreamPool, over: Partial<UpstreamRequest> = {}, pauseAt?: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '', lasts: 0, completed: false };
    let resume: (() => void) | undefined;
    let paused = false;
    const handler: UpstreamHandler = {
      onHeaders(status, headers, r) {
        out.status = status;
        out.headers = headers;
        resume = r;
      },
      onData(chunk, last) {
        out.body += chunk.toString('latin1');
        if (last) out.lasts++;
        if (pauseAt !== undefined && !paused && out.body.length >= pauseAt) {
          paused = true;
          setTimeout(() => resume!(), 100);
          return false;
        }
        return true;
      },
      onComplete() {
        out.completed = true;
        resolve(out);
      },
      onError(e) {
        out.error = e;
        resolve(out);
      },
    };
    pool.dispatch({ method: 'GET', path: '/', headers: ['Host', 'app.localhost'], body: null, chunked: false, headersTimeoutMs: 2000, ...over }, handler);
  });
}

const ok = (body: string, extra = '') => [`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n${extra}\r\n${body}`];

test('when responses carry a Content-Length, then bodies arrive whole, the last piece is marked, and one connection serves them in turn', async () => {
  const p = await peer((_h, n) => ok(`reply ${n}`, 'Keep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nConnection: keep-alive\r\nset-cookie: b=2\r\n'));
  const pool = new UpstreamPool('127.0.0.1', p.port);
  for (let i = 1; i <= 3; i++) {
    const r = await request(pool, { path: `/n${i}` });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.equal(r.body, `reply ${i}`);
    assert.equal(r.lasts, 1);
    assert.deepEqual(r.headers, ['Content-Length', String(`reply ${i}`.length), 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'], 'hop-by-hop headers are not passed on; repeated ones all are, in order and spelling');
  }
  assert.equal(p.connections, 1);
  assert.match(p.heads[2], /^GET \/n3 HTTP\/1\.1\r\nHost: app\.localhost$/);
  pool.destroy();
});

test('when a response is chunked and split across reads, then its body is de-chunked, trailers dropped, and the connection reused', async () => {
  const p = await peer(() => [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Secret\r\nX-Secret: hop\r\nX-Kept: yes\r\n\r\n',
    '5;ext=1\r\nhel', '', 'lo\r', '', '\n0', '', '06\r\n world\r\n', '', '0\r\nTrailer-Field: x\r\n', '', '\r\n',
  ]);
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const a = await request(pool);
  assert.equal(a.error, undefined);
  assert.equal(a.body, 'hello world');
  assert.deepEqual(a.headers, ['X-Kept', 'yes'], 'Transfer-Encoding, Connection and the header it names are dropped');
  const b = await request(pool);
  assert.equal(b.body, 'hello world');
  assert.equal(p.connections, 1);
  pool.destroy();
});

test('when a response has neither length nor chunks, then its body runs until the dyno closes, and that connection is not reused', async () => {
  const p = await peer(() => ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil', '', ' close', '', 'END']);
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const r = await request(pool);
  assert.equal(r.error, undefined);
  assert.equal(r.body, 'until close');
  await request(pool);
  assert.equal(p.connections, 2);
  pool.destroy();
});

test('when a response has no body by definition (HEAD, 204, 304) or is preceded by 100 Continue, then nothing is read as body and the connection goes on', async () => {
  const p = await peer((head) => {
    if (head.startsWith('HEAD')) return ['HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'];
    if (head.includes('/204')) return ['HTTP/1.1 204 No Content\r\n\r\n'];
    if (head.includes('/304')) return ['HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n'];
    return ['HTTP/1.1 100 Continue\r\n\r\n', '', 'HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade'];
  });
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const head = await request(pool, { method: 'HEAD' });
  assert.deepEqual([head.status, head.body, head.completed], [200, '', true]);
  assert.deepEqual(head.headers, ['Content-Length', '1234']);
  assert.equal((await request(pool, { path: '/204' })).status, 204);
  assert.equal((await request(pool, { path: '/304' })).status, 304);
  const created = await request(pool, { method: 'POST', path: '/continue', headers: ['Host', 'a', 'Content-Length', '0'] });
  assert.deepEqual([created.status, created.body], [201, 'made']);
  assert.equal(p.connections, 1);
  pool.destroy();
});

test('when a response is malformed, then the exchange ends with BAD_RESPONSE and its connection is dropped', async () => {
  const cases: Record<string, string> = {
    '/status': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
    '/name': 'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n',
    '/fold': 'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n',
    '/lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    '/length': 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    '/chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    '/chunk-end': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n',
    '/coding': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx',
    '/switch': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
  };
  const p = await peer((head) => [cases[head.split(' ')[1]]]);
  const pool = new UpstreamPool('127.0.0.1', p.port);
  for (const path of Object.keys(cases)) {
    const r = await request(pool, { path });
    assert.equal(r.error?.code, 'BAD_RESPONSE', `${path}: ${r.error?.message ?? `completed with ${r.status}`}`);
    assert.equal(r.completed, false);
  }
  assert.equal(p.connections, Object.keys(cases).length, 'no malformed connection was used again');
  pool.destroy();
});

test('when a dyno sends bytes after its response, then that connection is not trusted again and the next response is read whole', async () => {
  const p = await peer((_h, n) => (n === 1 ? ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled'] : ok('fresh')));
  const pool = new UpstreamPool('127.0.0.1', p.port);
  assert.equal((await request(pool)).body, 'ok');
  assert.equal((await request(pool)).body, 'fresh');
  assert.equal(p.connections, 2);
  pool.destroy();
});

test('when a response is both chunked and given a length, then the chunks win, the length is not passed on, and the connection is dropped after', async () => {
  const p = await peer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n']);
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const r = await request(pool);
  assert.deepEqual([r.body, r.headers], ['ok', []]);
  await request(pool);
  assert.equal(p.connections, 2);
  pool.destroy();
});

test('when the dyno says Keep-Alive: timeout=1, then its connection is not kept (it would close it first); an idle one it closes is never used', async () => {
  const short = await peer(() => ok('x', 'Keep-Alive: timeout=1\r\n'));
  const pool = new UpstreamPool('127.0.0.1', short.port);
  await request(pool);
  await request(pool);
  assert.equal(short.connections, 2);
  pool.destroy();

  const closing = await peer(() => ok('y'));
  const pool2 = new UpstreamPool('127.0.0.1', closing.port);
  await request(pool2);
  for (const s of closing.sockets) s.end();
  await new Promise((r) => setTimeout(r, 50));
  const r = await request(pool2);
  assert.deepEqual([r.error, r.body], [undefined, 'y']);
  assert.equal(closing.connections, 2);
  pool2.destroy();
});

test('when a dyno is silent, refuses, or the caller aborts, then HEADERS_TIMEOUT, ECONNREFUSED and ABORTED, and the connection is closed', async () => {
  const silent = await peer(() => null);
  const pool = new UpstreamPool('127.0.0.1', silent.port);
  const t0 = Date.now();
  const late = await request(pool, { headersTimeoutMs: 200 });
  assert.equal(late.error?.code, 'HEADERS_TIMEOUT');
  assert.ok(Date.now() - t0 >= 200 && Date.now() - t0 < 1000, `timed out after ${Date.now() - t0} ms`);

  const aborted = new Promise<UpstreamError>((resolve) => {
    const x = pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, chunked: false, headersTimeoutMs: 5000 }, {
      onHeaders() {}, onData: () => true, onComplete() {}, onError: resolve,
    });
    setTimeout(() => x.abort(new Error('client gone')), 50);
  });
  assert.equal((await aborted).code, 'ABORTED');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(silent.sockets.size, 0, 'the dyno sees its connections closed');
  pool.destroy();

  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = await request(new UpstreamPool('127.0.0.1', port));
  assert.equal(refused.error?.code, 'ECONNREFUSED');
});

test('when a request has a body, then it is sent with its length as given, or chunked when the caller asks', async () => {
  const p = await peer(() => ok('got'));
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const fixed = new PassThrough();
  const a = request(pool, { method: 'POST', headers: ['Host', 'a', 'Content-Length', '10'], body: fixed });
  fixed.write('01234');
  setTimeout(() => fixed.end('56789'), 20);
  assert.equal((await a).body, 'got');
  const streamed = new PassThrough();
  const b = request(pool, { method: 'POST', headers: ['Host', 'a', 'Transfer-Encoding', 'chunked'], body: streamed, chunked: true });
  streamed.write('abc');
  setTimeout(() => streamed.end('defgh'), 20);
  assert.equal((await b).body, 'got');
  assert.equal(p.connections, 1, 'a fully sent request leaves its connection reusable');
  const sent = p.raw();
  assert.ok(sent.includes('Content-Length: 10\r\n\r\n0123456789POST'), sent);
  assert.ok(sent.endsWith('Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n'), JSON.stringify(sent.slice(-80)));
  pool.destroy();
});

test('when the caller cannot take more, then the dyno is paused and every byte still arrives in order', async () => {
  const big = Array.from({ length: 4 * 1024 * 1024 / 16 }, (_, i) => String(i).padStart(15, '0') + '\n').join('');
  const p = await peer(() => ok(big));
  const pool = new UpstreamPool('127.0.0.1', p.port);
  const r = await request(pool, {}, 64 * 1024);
  assert.equal(r.body.length, big.length);
  assert.ok(r.body === big, 'the body arrived in order');
  pool.destroy();
});

test('when a handler throws, then the exchange ends with INTERNAL, the bug is reported, and the process lives on', async () => {
  const p = await peer(() => ok('boom'));
  const bugs: Error[] = [];
  const pool = new UpstreamPool('127.0.0.1', p.port, (e) => bugs.push(e));
  const e = await new Promise<UpstreamError>((resolve) => {
    pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, chunked: false, headersTimeoutMs: 2000 }, {
      onHeaders() {
        throw new Error('handler bug');
      },
      onData: () => true, onComplete() {}, onError: resolve,
    });
  });
  assert.equal(e.code, 'INTERNAL');
  assert.deepEqual(bugs.map((b) => b.message), ['handler bug']);
  assert.equal((await request(pool)).body, 'boom');
  pool.destroy();
});

test('when response heads are parsed, then framing, keep-alive and the headers passed on follow HTTP/1.1, and a malformed one says why', async () => {
  const { parseResponseHead } = await import('../../router/response-head.js');
  const h = parseResponseHead('HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 5\r\nContent-Length: 5\r\nKeep-Alive: timeout=3');
  assert.ok(typeof h !== 'string', String(h));
  assert.deepEqual([h.code, h.close, h.length, h.keepAlive, h.headers], [200, false, 5, 'timeout=3', ['Content-Length', '5']]);
  const old = parseResponseHead('HTTP/1.0 200 OK\r\nContent-Type: text/plain');
  assert.ok(typeof old !== 'string' && old.close && old.length === -1, 'HTTP/1.0 without keep-alive closes');
  const noReason = parseResponseHead('HTTP/1.1 204\r\nX-A: b');
  assert.ok(typeof noReason !== 'string' && noReason.code === 204);
  for (const [text, why] of [
    ['HTTP/2 200 OK', /status line/], ['HTTP/1.1 099 Low', /status line/], ['HTTP/1.1 20 OK', /status line/],
    ['HTTP/1.1 200 OK\r\n: empty', /header line/], ['HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded', /header line/],
    ['HTTP/1.1 200 OK\r\nX-A: a\u0001b', /control character/], ['HTTP/1.1 200 OK\r\nContent-Length: 1e3', /Content-Length/],
  ] as const) assert.match(String(parseResponseHead(text)), why, text);
});
