/**
 * The router alone, over loopback upstreams standing in for dynos: host routing, Heroku's headers, request
 * smuggling guards, websockets, the H-codes with their log lines, and passing over a dyno that refuses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MemoryRouteTable, type Endpoint, type Route } from '../../router/routes.js';
import { createRouter } from '../../router/server.js';
import { requestWithHost } from '../helpers/http.js';
import { freePort, waitFor } from '../helpers/procs.js';
import { echoWebSockets, openWebSocket } from '../helpers/websocket.js';

type Seen = { method?: string; url?: string; headers: IncomingMessage['headers']; body: string };

const BIG = 64 * 1024 * 1024;
/** What the dyno's /big handler has written so far, and its /sink has read. */
const flow = { written: 0, read: 0, sinkStarted: false };
/** 64 MiB in 64 KiB writes, each waiting for the router to take the last one. */
function sendBig(res: ServerResponse): void {
  flow.written = 0;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
  const chunk = Buffer.alloc(64 * 1024, 'b');
  const more = () => {
    while (flow.written < BIG) {
      flow.written += chunk.length;
      if (flow.written >= BIG) return void res.end(chunk);
      if (!res.write(chunk)) return void res.once('drain', more);
    }
  };
  more();
}
/** Reads nothing for 500 ms, then the whole body, and answers with its length. */
function sink(req: IncomingMessage, res: ServerResponse): void {
  flow.read = 0;
  flow.sinkStarted = true;
  req.pause();
  setTimeout(() => {
    req.on('data', (d: Buffer) => (flow.read += d.length));
    req.on('end', () => res.end(String(flow.read)));
    req.resume();
  }, 500);
}

/** A dyno stand-in: answers "NAME METHOD URL" (or per-path behaviour) and records what it received. */
const upstreams: Server[] = [];
async function upstream(name: string): Promise<{ server: Server; endpoint: Endpoint; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/big') return void sendBig(res);
    if (req.url === '/sink') return void sink(req, res);
    if (req.url === '/early') return void setTimeout(() => res.end('early, without reading the body'), 300); // the router's side of the body fills up first
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      if (req.url === '/hangup') return void req.socket.destroy();
      if (req.url === '/nolength') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part one, ');
        return void setTimeout(() => res.end('part two'), 20);
      }
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part\n');
        return; // then silence: H15
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${name} ${req.method} ${req.url} ${body}`);
    });
  });
  echoWebSockets(server, `${name}:`);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  upstreams.push(server);
  return { server, seen, endpoint: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, dyno: `web.${name.slice(-1)}` } };
}

const execFileP = promisify(execFile);
const routes = new MemoryRouteTable();
const logged: { app: string; line: string }[] = [];
let routerPort = 0;
let router: ReturnType<typeof createRouter>;
let a1: Awaited<ReturnType<typeof upstream>>;
let a2: Awaited<ReturnType<typeof upstream>>;
let b1: Awaited<ReturnType<typeof upstream>>;
const route = (app: string, endpoints: Endpoint[], extra: Partial<Route> = {}): Route => ({ appId: `id-${app}`, app, maintenance: false, endpoints, ...extra });

before(async () => {
  [a1, a2, b1] = await Promise.all([upstream('alpha1'), upstream('alpha2'), upstream('beta1')]);
  routes.setApp('id-alpha', route('alpha', [a1.endpoint, a2.endpoint]), ['alpha.localhost', 'www.alpha.example']);
  routes.setApp('id-beta', route('beta', [b1.endpoint]), ['beta.localhost', '*.beta.example']);
  router = createRouter({ routes, requestTimeoutMs: 500, idleTimeoutMs: 400, logLine: (r, line) => logged.push({ app: r.app, line }) });
  await new Promise<void>((r) => router.server.listen(0, '127.0.0.1', () => r()));
  routerPort = (router.server.address() as AddressInfo).port;
});
after(async () => {
  await router.close();
  router.server.closeAllConnections();
  for (const u of upstreams) u.closeAllConnections();
  await Promise.all([router.server, ...upstreams].map((s) => new Promise((r) => s.close(r))));
});

const get = (host: string, path = '/', headers: Record<string, string> = {}, method = 'GET') => requestWithHost(routerPort, host, path, headers, method);

/** Sends raw bytes and collects everything until the router closes or 1.5 s pass. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(routerPort, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    setTimeout(() => s.destroy(), 1500).unref();
  });
}

const logsFor = (app: string, pattern: RegExp) => logged.filter((l) => l.app === app && pattern.test(l.line));

test('when requests name different apps, then each goes to its own dynos, round-robin, and an unknown host gets the 404 page', async () => {
  const bodies = await Promise.all([1, 2, 3, 4].map(() => get('alpha.localhost', '/x')));
  assert.deepEqual(bodies.map((b) => b.status), [200, 200, 200, 200]);
  const names = bodies.map((b) => b.body.split(' ')[0]).sort();
  assert.deepEqual(names, ['alpha1', 'alpha1', 'alpha2', 'alpha2']);
  assert.equal((await get('beta.localhost', '/y')).body, 'beta1 GET /y ');
  const unknown = await get('gamma.localhost');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /No such app/);
  assert.doesNotMatch(unknown.body, /alpha|beta/);
});

test('when the Host differs in case, has a port or a trailing dot, or matches a wildcard domain, then it still routes', async () => {
  assert.match((await get('ALPHA.LocalHost')).body, /^alpha/);
  assert.match((await get('alpha.localhost:8080')).body, /^alpha/);
  assert.match((await get('alpha.localhost.')).body, /^alpha/);
  assert.match((await get('www.alpha.example')).body, /^alpha/);
  assert.match((await get('shop.beta.example')).body, /^beta1/);
  assert.equal((await get('a.shop.beta.example')).status, 404, 'a wildcard covers one level only');
  assert.equal((await get('beta.example')).status, 404, 'a wildcard does not cover its own apex');
});

test('when a client sends forwarding headers, then the router replaces them (X-Request-Start too) and keeps only a sane request id', async () => {
  const before = b1.seen.length;
  const t0 = Date.now();
  await get('beta.localhost', '/h', {
    'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-request-id': 'a-good-request-id-0123456789', 'x-request-start': '1',
    forwarded: 'for=6.6.6.6;host=evil.example;proto=https', 'x-forwarded-host': 'evil.example', 'x-real-ip': '6.6.6.6',
  });
  const t1 = Date.now();
  await get('beta.localhost', '/h', { 'x-request-id': 'short' });
  await get('beta.localhost', '/h', { 'x-request-id': 'bad id with spaces and more than twenty' });
  const [first, second, third] = b1.seen.slice(before);
  assert.equal(first.headers['x-forwarded-for'], '127.0.0.1', 'not appended to the client-supplied value');
  assert.equal(first.headers['x-forwarded-proto'], 'http');
  assert.match(String(first.headers['x-forwarded-port']), /^\d+$/);
  assert.equal(first.headers['x-request-id'], 'a-good-request-id-0123456789');
  assert.match(String(second.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.match(String(third.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(first.headers.via, '1.1 slipway');
  for (const h of ['forwarded', 'x-forwarded-host', 'x-real-ip']) assert.equal(first.headers[h], undefined, `a client's ${h} is dropped`);
  const start = Number(first.headers['x-request-start']);
  assert.ok(start >= t0 && start <= t1, `X-Request-Start is when the router got the request, in ms (${first.headers['x-request-start']})`);
  const line = logsFor('beta', /path="\/h"/)[0]?.line ?? '';
  assert.match(line, /^at=info method=GET path="\/h" host=beta\.localhost request_id=a-good-request-id-0123456789 fwd="127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=[1-9]\d* protocol=http$/);
});

test('when a request is ambiguous (two Hosts, Content-Length with Transfer-Encoding, an odd Transfer-Encoding), then it gets 400 and reaches no dyno', async () => {
  const before = a1.seen.length + a2.seen.length + b1.seen.length;
  const twoHosts = await raw('GET / HTTP/1.1\r\nHost: alpha.localhost\r\nHost: beta.localhost\r\n\r\n');
  assert.match(twoHosts, /^HTTP\/1\.1 400/);
  const clte = await raw('POST / HTTP/1.1\r\nHost: alpha.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: alpha.localhost\r\n\r\n');
  assert.match(clte, /^HTTP\/1\.1 400/);
  const te = await raw('POST / HTTP/1.1\r\nHost: alpha.localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
  assert.match(te, /^HTTP\/1\.1 400/);
  assert.equal(a1.seen.length + a2.seen.length + b1.seen.length, before);
});

test('when a client lists Content-Length or Host in Connection, then the body stays framed and the next client\'s request on that dyno connection arrives whole', async () => {
  // A planted prefix: unframed, this body would be read by the dyno as the start of the next request on the pooled
  // connection, which swallows the next client's request line and headers (its cookie too) into X-Swallow.
  const prefix = 'GET /smuggled HTTP/1.1\r\nHost: beta.localhost\r\nX-Swallow: ';
  const before = b1.seen.length;
  const planted = await raw(`POST /plant HTTP/1.1\r\nHost: beta.localhost\r\nConnection: keep-alive, Content-Length, Host\r\nContent-Length: ${prefix.length}\r\n\r\n${prefix}`);
  assert.match(planted, /^HTTP\/1\.1 200/);
  const victim = await get('beta.localhost', '/victim', { cookie: 'session=victim-secret' });
  assert.equal(victim.status, 200);
  assert.equal(victim.body, 'beta1 GET /victim ', 'the victim got its own answer');
  const seen = b1.seen.slice(before);
  assert.deepEqual(seen.map((x) => `${x.method} ${x.url}`), ['POST /plant', 'GET /victim'], 'nothing smuggled');
  assert.equal(seen[0].body, prefix, 'the planted bytes were the body of the request that carried them');
  assert.equal(seen[0].headers['content-length'], String(prefix.length));
  assert.equal(seen[0].headers.host, 'beta.localhost', 'Host is never taken out by Connection');
  assert.equal(seen[1].headers.cookie, 'session=victim-secret');
});

test('when a request target is in absolute form, then it is routed only when its host is the Host header, and the dyno gets the path', async () => {
  const before = a1.seen.length + a2.seen.length + b1.seen.length;
  const other = await raw('GET http://alpha.localhost/steal HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n');
  assert.match(other, /^HTTP\/1\.1 400/);
  assert.match(other, /absolute-form target/);
  const creds = await raw('GET http://user@beta.localhost/x HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n');
  assert.match(creds, /^HTTP\/1\.1 400/);
  assert.equal(a1.seen.length + a2.seen.length + b1.seen.length, before, 'neither reached a dyno');
  const same = await raw('GET http://Beta.Localhost:80/abs?q=1 HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n');
  assert.match(same, /^HTTP\/1\.1 200/);
  assert.equal(b1.seen.at(-1)?.url, '/abs?q=1');
  const ws = await raw('GET http://alpha.localhost/ws HTTP/1.1\r\nHost: beta.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.match(ws, /^HTTP\/1\.1 400/, 'an upgrade is held to the same rule');
});

test('when a DELETE or OPTIONS carries a chunked body, then the dyno gets that body as one request, nothing smuggled', async () => {
  for (const method of ['DELETE', 'OPTIONS']) {
    const before = b1.seen.length;
    const body = 'GET /smuggled HTTP/1.1\r\nHost: beta.localhost\r\n\r\n';
    const chunk = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const out = await raw(`${method} /thing HTTP/1.1\r\nHost: beta.localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`);
    assert.match(out, /^HTTP\/1\.1 200/);
    await new Promise((r) => setTimeout(r, 200));
    const got = b1.seen.slice(before);
    assert.deepEqual(got.map((s) => `${s.method} ${s.url}`), [`${method} /thing`], `${method}: exactly one request reached the dyno`);
    assert.equal(got[0].body, body);
  }
});

test("when the client asks to close, then the router closes after the answer; the dyno's keep-alive headers never reach the client", async () => {
  const t0 = Date.now();
  const out = await raw('GET /c HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n');
  assert.ok(Date.now() - t0 < 1000, `closed after the response (${Date.now() - t0} ms)`);
  assert.match(out, /^HTTP\/1\.1 200/);
  assert.match(out, /\r\nconnection: close\r\n/i);
  const kept = await get('beta.localhost', '/c');
  assert.equal(kept.headers['keep-alive'], undefined, 'the dyno\'s Keep-Alive: timeout=5 is not the router\'s');
  assert.equal(kept.headers.connection, 'close', 'agent:false asked to close');
});

test('when a request has a body (even a GET), then the dyno gets it whole, streamed, and nothing of it is read as a next request', async () => {
  const before = b1.seen.length;
  const big = 'x'.repeat(1024 * 1024);
  const post = await requestWithHost(routerPort, 'beta.localhost', '/upload', {}, 'POST', big);
  assert.equal(post.status, 200);
  assert.equal(b1.seen[before].body.length, big.length);
  const smuggle = 'GET /smuggled HTTP/1.1\r\nHost: beta.localhost\r\n\r\n';
  const out = await raw(`GET /with-body HTTP/1.1\r\nHost: beta.localhost\r\nContent-Length: ${smuggle.length}\r\nConnection: close\r\n\r\n${smuggle}`);
  assert.match(out, /^HTTP\/1\.1 200/);
  assert.deepEqual(b1.seen.slice(before + 1).map((x) => `${x.method} ${x.url} ${x.body.length}`), [`GET /with-body ${smuggle.length}`]);
});

test('when the client goes away before the dyno answers, then H27 is logged', async () => {
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: routerPort, path: '/slow', headers: { host: 'alpha.localhost' }, agent: false });
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => req.destroy(), 100);
  });
  await waitFor('the H27 log line', () => logsFor('alpha', /code=H27 desc="Client Request Interrupted" method=GET path="\/slow"/).length >= 1, 3000, 20);
});

test('when a header block is oversized, then the router answers 431 without forwarding', async () => {
  const r = await get('alpha.localhost', '/', { 'x-big': 'a'.repeat(20_000) });
  assert.equal(r.status, 431);
});

test('when a client opens a websocket, then frames are tunnelled both ways to a dyno of that app', async () => {
  // The dyno's end of the tunnel goes with the client's (idle keep-alive connections from earlier requests may stay).
  const tunnels = () => new Promise<number>((r) => b1.server.getConnections((_e, n) => r(n)));
  const before = await tunnels();
  const ws = await openWebSocket(routerPort, 'beta.localhost');
  assert.equal(await tunnels(), before + 1);
  assert.equal(await ws.send('hello'), 'beta1:hello');
  assert.equal(await ws.send('again'), 'beta1:again');
  ws.close();
  assert.ok(logsFor('beta', /status=101 protocol=websocket/).length >= 1);
  await waitFor('the tunnel to the dyno closed', async () => (await tunnels()) <= before, 3000, 20);
});

test('when the dyno is too slow, closes without answering, or stalls mid-response, then H12, H13 and H15 are answered and logged', async () => {
  routes.setApp('id-gamma', route('gamma', [(await upstream('gamma1')).endpoint]), ['gamma.localhost']);
  const slow = await get('gamma.localhost', '/slow');
  assert.equal(slow.status, 503);
  assert.match(slow.body, /H12/);
  assert.match(logsFor('gamma', /code=H12/)[0]?.line ?? '', /^at=error code=H12 desc="Request timeout" method=GET path="\/slow" host=gamma\.localhost .*status=503/);

  const hangup = await get('gamma.localhost', '/hangup');
  assert.equal(hangup.status, 503);
  assert.match(hangup.body, /H13/);
  assert.match(logsFor('gamma', /code=H13/)[0]?.line ?? '', /code=H13 desc="Connection closed without response" .* dyno=web\.1 /);

  const stall = await get('gamma.localhost', '/stall').catch((e: Error) => ({ status: 0, body: e.message, headers: {} }));
  assert.ok(stall.status === 0 || stall.body === 'first part\n', `the stalled response is cut: ${stall.body}`);
  await waitFor('the H15 log line', () => logsFor('gamma', /code=H15 desc="Idle connection"/).length >= 1, 3000, 20);
});

test('when an app sets its own request timeout, then its slow answers get through while the router default still applies to others', async () => {
  const slowApp = await upstream('epsilon1');
  routes.setApp('id-epsilon', route('epsilon', [slowApp.endpoint], { requestTimeoutMs: 5000 }), ['epsilon.localhost']);
  const r = await get('epsilon.localhost', '/slow');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'late');
  routes.setApp('id-epsilon', route('epsilon', [slowApp.endpoint]), ['epsilon.localhost']);
  assert.equal((await get('epsilon.localhost', '/slow')).status, 503);
});

test('when an app has no web dynos, crashed ones or maintenance on, then H14, H10 and H80 pages (JSON on request) and log lines', async () => {
  routes.setApp('id-delta', route('delta', []), ['delta.localhost']);
  const h14 = await get('delta.localhost');
  assert.equal(h14.status, 503);
  assert.match(h14.body, /No web processes running/);
  assert.match(logsFor('delta', /H14/)[0]?.line ?? '', /^at=error code=H14 desc="No web processes running" method=GET path="\/" host=delta\.localhost/);
  const json = await get('delta.localhost', '/', { accept: 'application/json' });
  assert.deepEqual(JSON.parse(json.body), { id: 'H14', message: 'No web processes running' });

  routes.setApp('id-delta', route('delta', [], { crashed: true }), ['delta.localhost']);
  assert.match((await get('delta.localhost')).body, /H10/);
  routes.setApp('id-delta', route('delta', [a1.endpoint], { maintenance: true }), ['delta.localhost']);
  const h80 = await get('delta.localhost');
  assert.equal(h80.status, 503);
  assert.match(h80.body, /Maintenance mode/);
  assert.ok(logsFor('delta', /code=H80/).length >= 1);
});

test('when one dyno refuses connections, then requests go to the others and it is passed over for a while', async () => {
  const dead = { host: '127.0.0.1', port: await freePort(), dyno: 'web.9' };
  routes.setApp('id-alpha', route('alpha', [dead, a1.endpoint]), ['alpha.localhost']);
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await get('alpha.localhost', '/r'));
  assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
  assert.ok(results.every((r) => r.body.startsWith('alpha1')));
  // A POST cannot be retried (its body went nowhere): while the dead dyno is passed over, it is not even tried.
  const post = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: routerPort, method: 'POST', path: '/p', headers: { host: 'alpha.localhost', 'content-length': '2' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end('hi');
  });
  assert.equal(post, 200);
  routes.setApp('id-alpha', route('alpha', [a1.endpoint, a2.endpoint]), ['alpha.localhost', 'www.alpha.example']);
});

/** Writes `parts` one after another (a pause between each), then collects until the router closes or 1.5 s pass. */
function rawInParts(parts: string[], port = routerPort, gapMs = 2, capMs = 1500): Promise<{ out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = connect(port, '127.0.0.1', async () => {
      for (const p of parts) {
        if (s.destroyed) break;
        s.write(p);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve({ out, ms: Date.now() - t0 }));
    setTimeout(() => s.destroy(), capMs).unref();
  });
}
const statusLines = (out: string) => out.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];

test('when a client pipelines requests, then they are answered in order on one connection; one with a body behind a body gets a close instead', async () => {
  const before = b1.seen.length;
  const host = 'Host: beta.localhost\r\n';
  const out = await raw(`GET /p1 HTTP/1.1\r\n${host}\r\nGET /p2 HTTP/1.1\r\n${host}\r\nGET /nope HTTP/1.1\r\nHost: nobody.localhost\r\n\r\nGET /p3 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
  assert.deepEqual(statusLines(out), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 200 OK']);
  const bodies = out.match(/beta1 GET \/p\d/g);
  assert.deepEqual(bodies, ['beta1 GET /p1', 'beta1 GET /p2', 'beta1 GET /p3']);
  assert.deepEqual(b1.seen.slice(before).map((x) => x.url), ['/p1', '/p2', '/p3']);

  // Garbage after a good request: the request is answered, the garbage refused at once (not left to the 20 s head timeout).
  const t0 = Date.now();
  for (const garbage of ['host\r\n\r\n', 'GET /x HTTP/9.1\r\n\r\n', `GET /x HTTP/1.1\r\nHo st: y\r\n\r\n`, `GET /x HTTP/1.1\r\n${host}X: ${'a'.repeat(20_000)}\r\n\r\n`]) {
    const answers = statusLines(await raw(`GET /p4 HTTP/1.1\r\n${host}\r\n${garbage}`));
    assert.deepEqual(answers, ['HTTP/1.1 200 OK', garbage.length > 10_000 ? 'HTTP/1.1 431 Request Header Fields Too Large' : 'HTTP/1.1 400 Bad Request'], JSON.stringify(garbage.slice(0, 30)));
  }
  assert.ok(Date.now() - t0 < 1000, `refused at once (${Date.now() - t0} ms for four)`);
  // Behind a body, in the same read: a request without a body is answered next, and what follows it after that.
  const behindBody = await raw(`POST /q1 HTTP/1.1\r\n${host}Content-Length: 3\r\n\r\nabcGET /q2 HTTP/1.1\r\n${host}\r\nGET /q3 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
  assert.deepEqual(statusLines(behindBody), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  assert.match(behindBody, /beta1 POST \/q1 abc[\s\S]*beta1 GET \/q2 [\s\S]*beta1 GET \/q3 /);
  // One with a body of its own is left to the client to retry: the connection closes after the first answer.
  const twoBodies = await raw(`POST /q4 HTTP/1.1\r\n${host}Content-Length: 3\r\n\r\nabcPOST /q5 HTTP/1.1\r\n${host}Content-Length: 3\r\n\r\ndef`);
  assert.deepEqual(statusLines(twoBodies), ['HTTP/1.1 200 OK']);
  assert.match(twoBodies, /\r\nConnection: close\r\n[\s\S]*beta1 POST \/q4 abc\r\n0\r\n\r\n$/);
  assert.deepEqual(b1.seen.slice(before + 7).map((x) => x.url), ['/q1', '/q2', '/q3', '/q4']);
});

test('when a request is HTTP/1.0, expects 100-continue, or upgrades, then Node\'s server takes the connection over and it is still routed', async () => {
  const old = await raw('GET /old HTTP/1.0\r\nHost: beta.localhost\r\n\r\n');
  assert.match(old, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(old, /beta1 GET \/old $/);
  const cont = await raw('POST /e HTTP/1.1\r\nHost: beta.localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz');
  assert.deepEqual(statusLines(cont), ['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
  assert.match(cont, /beta1 POST \/e xyz\r\n0\r\n\r\n$/);
  // A keep-alive connection whose second request is the upgrade: handed over at that boundary, first answer kept.
  const mixed = await raw('GET /first HTTP/1.1\r\nHost: beta.localhost\r\n\r\nGET /ws HTTP/1.1\r\nHost: beta.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.deepEqual(statusLines(mixed), ['HTTP/1.1 200 OK', 'HTTP/1.1 101 Switching Protocols']);
  assert.match(mixed, /beta1 GET \/first /);
});

test('when a client offers an upgrade the router does not tunnel (h2c), then it is served as plain HTTP/1.1, body and keep-alive included', async () => {
  const before = b1.seen.length;
  const h2c = 'GET /h2c HTTP/1.1\r\nHost: beta.localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n';
  const post = 'POST /after HTTP/1.1\r\nHost: beta.localhost\r\nUpgrade: h2c\r\nConnection: Upgrade, close\r\nContent-Length: 5\r\n\r\nhello';
  const out = await raw(h2c + post);
  assert.deepEqual(statusLines(out), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'], out);
  const [first, second] = b1.seen.slice(before);
  assert.equal(first.url, '/h2c');
  assert.equal(first.headers.upgrade, undefined, 'the dyno is not asked to switch');
  assert.equal(first.headers['http2-settings'], undefined);
  assert.equal(second.url, '/after');
  assert.match(out, /beta1 POST \/after hello/);
  // The real client: curl --http2 over http:// offers h2c, and gets its answer over HTTP/1.1.
  const curl = await execFileP('curl', ['-s', '--http2', '-w', ' %{http_version}', '--resolve', `beta.localhost:${routerPort}:127.0.0.1`, `http://beta.localhost:${routerPort}/curl`]);
  assert.equal(curl.stdout, 'beta1 GET /curl  1.1');
});

test('when a websocket is opened to an app with no web dyno, in maintenance, or to no app, then the usual error page answers it', async () => {
  const ws = (host: string) => raw(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  routes.setApp('id-zeta', route('zeta', []), ['zeta.localhost']);
  const h14 = await ws('zeta.localhost');
  assert.match(h14, /^HTTP\/1\.1 503 /);
  assert.match(h14, /No web processes running/);
  await waitFor('the H14 log line', () => logsFor('zeta', /code=H14 .*path="\/ws"/).length >= 1, 3000, 20);
  routes.setApp('id-zeta', route('zeta', [a1.endpoint], { maintenance: true }), ['zeta.localhost']);
  assert.match(await ws('zeta.localhost'), /^HTTP\/1\.1 503 [\s\S]*Maintenance mode/);
  assert.match(await ws('nothing-here.localhost'), /^HTTP\/1\.1 404 /);
});

test('when a head arrives in pieces, has many headers, or no Host, then it is read as Node reads it', async () => {
  const before = b1.seen.length;
  const many = Array.from({ length: 40 }, (_, i) => `X-H${i}: v${i}\r\n`).join('');
  const head = `GET /pieces?q=${'a'.repeat(100)} HTTP/1.1\r\nHost: beta.localhost\r\n${many}Connection: close\r\n\r\n`;
  const pieces = head.match(/[\s\S]{1,7}/g)!;
  const { out } = await rawInParts(pieces, routerPort, 1);
  assert.match(out, /^HTTP\/1\.1 200 OK/);
  const seen = b1.seen[before];
  assert.equal(seen.url, `/pieces?q=${'a'.repeat(100)}`);
  assert.equal(seen.headers['x-h0'], 'v0');
  assert.equal(seen.headers['x-h39'], 'v39', 'headers past the parser\'s first 32 are kept');
  assert.match(await raw('GET / HTTP/1.1\r\nX: y\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await raw('GET / HTTP/1.1\r\nHost: beta.localhost\r\nBad Header: x\r\n\r\n'), /^HTTP\/1\.1 400 /);
});

test('when the dyno answers without a length, with 204, or to a HEAD, then the client gets framing that matches', async () => {
  const chunked = await get('beta.localhost', '/nolength');
  assert.equal(chunked.body, 'part one, part two');
  assert.equal(chunked.headers['transfer-encoding'], 'chunked');
  assert.ok(chunked.headers.date, 'a Date header is added when the dyno gave none');
  // HEAD: a head only, so the pipelined request after it is read from the right byte.
  const out = await raw('HEAD /h1 HTTP/1.1\r\nHost: beta.localhost\r\n\r\nGET /h2 HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n');
  assert.deepEqual(statusLines(out), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  assert.doesNotMatch(out, /beta1 HEAD/);
  assert.match(out, /\r\n\r\nHTTP\/1\.1 200 OK[\s\S]*beta1 GET \/h2 \r\n0\r\n\r\n$/);
});

test('when a client is slow to send its head or idles past the keep-alive timeout, then the router closes it (408 for the head)', async () => {
  const r2 = createRouter({ routes, headersTimeoutMs: 300 });
  r2.server.keepAliveTimeout = 300;
  await new Promise<void>((r) => r2.server.listen(0, '127.0.0.1', () => r()));
  const port = (r2.server.address() as AddressInfo).port;
  try {
    const slow = await rawInParts(['GET / HTTP/1.1\r\n', 'Host: beta.lo'], port, 10);
    assert.match(slow.out, /^HTTP\/1\.1 408 /);
    assert.ok(slow.ms >= 280 && slow.ms < 1200, `closed after ${slow.ms} ms`);
    const idle = await rawInParts(['GET /i HTTP/1.1\r\nHost: beta.localhost\r\n\r\n'], port);
    assert.match(idle.out, /^HTTP\/1\.1 200 OK[\s\S]*Keep-Alive: timeout=0/);
    assert.ok(idle.ms >= 280 && idle.ms < 1200, `the idle connection closed after ${idle.ms} ms`);
  } finally {
    await r2.close();
    r2.server.closeAllConnections();
    await new Promise((r) => r2.server.close(r));
  }
});

test('when the router is stopped, then idle connections close at once and a request in flight finishes with Connection: close', async () => {
  const r2 = createRouter({ routes });
  await new Promise<void>((r) => r2.server.listen(0, '127.0.0.1', () => r()));
  const port = (r2.server.address() as AddressInfo).port;
  const idle = rawInParts(['GET /i HTTP/1.1\r\nHost: beta.localhost\r\n\r\n'], port);
  routes.setApp('id-zeta', route('zeta', [(await upstream('zeta1')).endpoint], { requestTimeoutMs: 5000 }), ['zeta.localhost']);
  const busy = rawInParts(['GET /slow HTTP/1.1\r\nHost: zeta.localhost\r\n\r\n'], port, 2, 5000);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const closed = new Promise<number>((resolve) => r2.server.close(() => resolve(Date.now() - t0)));
  r2.server.closeIdleConnections();
  const idleDone = await idle;
  assert.ok(idleDone.ms < 600, `the idle connection closed at once (${idleDone.ms} ms)`);
  const busyDone = await busy;
  assert.match(busyDone.out, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*late$/);
  const ms = await closed;
  assert.ok(ms >= 1500, `the server closed once the slow request was done (${ms} ms)`);
  await r2.close();
});

test('when the client or the dyno is the slower side, then the router holds the faster one back instead of buffering', async () => {
  // An app of its own with room for the slow reads (this file's router answers H12 after 500 ms).
  routes.setApp('id-theta', route('theta', [b1.endpoint], { requestTimeoutMs: 10_000, idleTimeoutMs: 10_000 }), ['theta.localhost']);
  // Download: the client reads nothing for 500 ms; the dyno can only fill the socket buffers on the way.
  const got = await new Promise<{ whilePaused: number; total: number }>((resolve, reject) => {
    const s = connect(routerPort, '127.0.0.1', () => s.write('GET /big HTTP/1.1\r\nHost: theta.localhost\r\nConnection: close\r\n\r\n'));
    let total = 0;
    let whilePaused = -1;
    s.once('data', (d: Buffer) => {
      total += d.length;
      s.pause();
      setTimeout(() => {
        whilePaused = flow.written;
        s.on('data', (more: Buffer) => (total += more.length));
        s.resume();
      }, 500);
    });
    s.on('error', reject);
    s.on('close', () => resolve({ whilePaused, total }));
  });
  assert.ok(got.whilePaused > 0 && got.whilePaused < BIG / 2, `the dyno had written ${got.whilePaused} of ${BIG} bytes while the client read nothing`);
  assert.ok(got.total > BIG, `the client got the whole body (${got.total} bytes with the head)`);

  // Upload: the dyno reads nothing for 500 ms; the client can only fill the socket buffers on the way.
  flow.sinkStarted = false;
  const up = await new Promise<{ taken: number; answer: string }>((resolve, reject) => {
    const s = connect(routerPort, '127.0.0.1');
    let sent = 0;
    let taken = -1;
    let answer = '';
    const chunk = Buffer.alloc(64 * 1024, 'u');
    const more = () => {
      while (sent < BIG) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', more);
      }
    };
    s.on('connect', () => {
      s.write(`POST /sink HTTP/1.1\r\nHost: theta.localhost\r\nContent-Length: ${BIG}\r\nConnection: close\r\n\r\n`);
      more();
      void waitFor('the dyno to take the request', () => flow.sinkStarted, 3000, 5).then(() => setTimeout(() => (taken = s.bytesWritten - s.writableLength), 400));
    });
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve({ taken, answer }));
  });
  assert.ok(up.taken > 0 && up.taken < BIG / 2, `the router took ${up.taken} of ${BIG} bytes while the dyno read nothing`);
  assert.match(up.answer, new RegExp(`^HTTP/1\\.1 200 OK[\\s\\S]*\\r\\n\\r\\n${BIG}$`));
});

test("when the front door is off (a Node whose parser binding differs), then Node's server routes every request the same way", async () => {
  const warnings: string[] = [];
  const r2 = createRouter({ routes, frontDoor: false, onWarning: (m) => warnings.push(m) });
  await new Promise<void>((r) => r2.server.listen(0, '127.0.0.1', () => r()));
  const port = (r2.server.address() as AddressInfo).port;
  try {
    const host = 'Host: beta.localhost\r\n';
    // Node's server answers a request pipelined behind a body too, where the front door closes instead.
    const { out } = await rawInParts([`POST /f1 HTTP/1.1\r\n${host}Content-Length: 3\r\n\r\nabcGET /f2 HTTP/1.1\r\n${host}Connection: close\r\n\r\n`], port);
    assert.deepEqual(statusLines(out), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    assert.match(out, /beta1 POST \/f1 abc[\s\S]*beta1 GET \/f2 /);
    const bad = await rawInParts([`GET / HTTP/1.1\r\n${host}Host: alpha.localhost\r\n\r\n`], port);
    assert.match(bad.out, /^HTTP\/1\.1 400 /);
    assert.deepEqual(warnings, [], 'turned off on purpose, nothing to warn about');
  } finally {
    await r2.close();
    r2.server.closeAllConnections();
    await new Promise((r) => r2.server.close(r));
  }
});

test('when odd or hostile bytes arrive, then the front door forwards nothing that Node\'s own server would not (a differential check)', async () => {
  const off = createRouter({ routes, requestTimeoutMs: 500, idleTimeoutMs: 400, frontDoor: false }); // as the main one
  await new Promise<void>((r) => off.server.listen(0, '127.0.0.1', () => r()));
  const offPort = (off.server.address() as AddressInfo).port;
  const H = 'Host: beta.localhost\r\n';
  const cases: Record<string, string> = {
    'leading zeros in Content-Length': `POST /a HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabcGET /next HTTP/1.1\r\n${H}\r\n`,
    'two equal Content-Lengths': `POST /a HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    'Content-Length with a sign': `POST /a HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
    'chunk extensions and trailers': `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n`,
    'chunked, then Content-Length: 0': `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n`,
    'chunk size overflow': `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n`,
    'chunked not last': `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    'chunked with a space': `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n`,
    'obs-fold': `GET /a HTTP/1.1\r\n${H}X-Fold: a\r\n b\r\n\r\n`,
    'space before the colon': `GET /a HTTP/1.1\r\nHost : beta.localhost\r\n\r\n`,
    'bare LF': `GET /a HTTP/1.1\n${H.replace('\r\n', '\n')}\n`,
    'NUL in a value': `GET /a HTTP/1.1\r\n${H}X-N: a\0b\r\n\r\n`,
    'unknown method': `FETCH /a HTTP/1.1\r\n${H}\r\n`,
    'absolute-form target': `GET http://beta.localhost/abs HTTP/1.1\r\n${H}\r\n`,
    'asterisk target': `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    'tab in the request line': `GET\t/a HTTP/1.1\r\n${H}\r\n`,
    'HTTP/1.2': `GET /a HTTP/1.2\r\n${H}\r\n`,
    'pipelined: GET, a GET with Content-Length: 0, a chunked POST': `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\nPOST /3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\nz\r\n0\r\n\r\n`,
    'bytes after Connection: close': `GET /a HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /after HTTP/1.1\r\n${H}\r\n`,
    'a body that never ends': `POST /a HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`,
    'Connection naming Content-Length': `POST /a HTTP/1.1\r\n${H}Connection: keep-alive, Content-Length\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\n${H}\r\n`,
    'Connection naming Host and Transfer-Encoding': `POST /a HTTP/1.1\r\n${H}Connection: Host, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    'absolute-form naming another app': `GET http://alpha.localhost/abs HTTP/1.1\r\n${H}\r\n`,
  };
  const seenVia = async (port: number, bytes: string) => {
    const before = b1.seen.length;
    const { out } = await rawInParts([bytes], port, 2, 600);
    await new Promise((r) => setTimeout(r, 50));
    return { statuses: statusLines(out).map((l) => l.slice(9, 12)), seen: b1.seen.slice(before).map((x) => `${x.method} ${x.url} ${x.body}`) };
  };
  try {
    for (const [name, bytes] of Object.entries(cases)) {
      const node = await seenVia(offPort, bytes);
      const front = await seenVia(routerPort, bytes);
      assert.deepEqual(front.seen, node.seen.slice(0, front.seen.length), `${name}: the dyno got a prefix of what Node's server forwards (front ${JSON.stringify(front)}, node ${JSON.stringify(node)})`);
      if (node.seen.length === 0) assert.deepEqual(front.statuses, node.statuses, `${name}: refused as Node refuses it`);
      else assert.ok(front.statuses.length > 0, `${name}: answered (front ${front.statuses}, node ${node.statuses})`);
    }
  } finally {
    await off.close();
    off.server.closeAllConnections();
    await new Promise((r) => off.server.close(r));
  }
});

test('when 600 mangled requests arrive (a seeded fuzz), then the router answers or closes each and keeps serving', async () => {
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const H = 'Host: beta.localhost\r\n';
  const seeds = [
    `GET /f HTTP/1.1\r\n${H}\r\n`,
    `POST /f HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    `POST /f HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n${H}\r\n`,
    `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    `POST /f HTTP/1.1\r\n${H}Connection: keep-alive, Content-Length\r\nContent-Length: 5\r\n\r\nhello`,
    `GET http://beta.localhost/f HTTP/1.1\r\n${H}Forwarded: for=1.2.3.4\r\nX-Real-IP: 1.2.3.4\r\n\r\n`,
  ];
  const specials = ['\r', '\n', '\0', ' ', ':', '\t', '0', 'F', ';', '\x7f', '\xff'];
  const mangle = (s: string): Buffer => {
    const b = [...Buffer.from(s, 'latin1')];
    for (let n = 1 + rand(4); n > 0; n--) {
      const at = rand(b.length + 1);
      switch (rand(4)) {
        case 0: b[at] = specials[rand(specials.length)].charCodeAt(0); break; // replace
        case 1: b.splice(at, 1); break; // delete
        case 2: b.splice(at, 0, ...b.slice(at, at + 1 + rand(20))); break; // repeat a run
        default: b.length = Math.max(1, at); // truncate
      }
    }
    return Buffer.from(b);
  };
  const send = (bytes: Buffer) =>
    new Promise<void>((resolve) => {
      const s = connect(routerPort, '127.0.0.1', () => s.write(bytes));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', () => resolve());
      setTimeout(() => s.destroy(), 300).unref();
    });
  const cases = Array.from({ length: 600 }, () => mangle(seeds[rand(seeds.length)]));
  // In production an uncaught error ends the router worker; here the test runner would only report it aside.
  const uncaught: string[] = [];
  const onUncaught = (e: Error) => uncaught.push(e.message);
  process.on('uncaughtException', onUncaught);
  try {
    for (let i = 0; i < cases.length; i += 30) await Promise.all(cases.slice(i, i + 30).map(send));
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, [], 'nothing thrown out of the router');
  const after = await get('beta.localhost', '/still-here');
  assert.equal(after.status, 200);
  assert.equal(after.body, 'beta1 GET /still-here ');
});

test('when the dyno answers before the client has sent its body, then the rest of the body is read and dropped and the connection serves the next request', async () => {
  const before = b1.seen.length;
  const body = 'x'.repeat(16 * 1024 * 1024); // more than the socket buffers on the way hold
  const { out } = await rawInParts(
    [`POST /early HTTP/1.1\r\nHost: beta.localhost\r\nContent-Length: ${body.length}\r\n\r\n`, body.slice(0, 1000), body.slice(1000), `GET /after-early HTTP/1.1\r\nHost: beta.localhost\r\nConnection: close\r\n\r\n`],
    routerPort, 100, 5000,
  );
  assert.deepEqual(statusLines(out), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  assert.match(out, /early, without reading the body[\s\S]*beta1 GET \/after-early \r\n0\r\n\r\n$/);
  assert.deepEqual(b1.seen.slice(before).map((x) => x.url), ['/after-early'], 'none of the body was read as a request');
});
