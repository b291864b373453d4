/**
 * The router's edge against clients that hold connections open doing nothing (slowloris on the TLS port), with the
 * router's TLS front and HTTP/2 server as the router role makes them, timeouts set short:
 * - 5,000 idle HTTP/2 sessions: each is sent GOAWAY and closed after the idle timeout (before: they stayed open
 *   for ever, each holding a TLS session and its buffers).
 * - A TCP connection that never starts its TLS handshake, and one that finishes it but never sends HTTP/2's
 *   SETTINGS: both dropped within their timeouts (before: the handshake had two minutes, SETTINGS for ever).
 * - An ACME challenge path naming an Object.prototype member (`constructor`) is no challenge: the app answers as
 *   for any path (before: the router crashed on the request, H99).
 * - A request whose Host (or :authority) the certificate SNI chose does not cover: 421 (before: served as asked).
 * - One address opening more connections than SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS (20 here): the next is closed as
 *   it arrives, another address is served, and a freed slot is taken again (before: no limit).
 * - The API's and the rendezvous port's front (first byte, TLS or not): a client that sends nothing, or opens TLS
 *   and stops mid-handshake, is closed within the timeout (before: a silent client was held for ever on the API's
 *   plain port and the first-byte split, two minutes in a TLS handshake).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter } from '../../router/server.js';
import { createTlsFront } from '../../router/tls.js';
import { capPerAddress } from '../../router/address-cap.js';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import { dualProtocolServer, firstByteFront, tlsOrElse } from '../../server/tls.js';
import { MemoryRouteTable } from '../../router/routes.js';
import { issue, makeCa, type TestCert } from '../helpers/certs.js';
import { requestWithHost } from '../helpers/http.js';
import { waitFor } from '../helpers/procs.js';

const IDLE_MS = 1500;
const PER_ADDRESS = 20;
const routes = new MemoryRouteTable();
let dir: string;
let root: TestCert;
let platformCert: TestCert;
let tlsPort = 0;
let plainPort = 0;
let router: ReturnType<typeof createRouter>;
let tls: ReturnType<typeof createTlsFront>;
const sessionsOpen = () => router.h2Sessions();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-edge-'));
  root = await makeCa(dir);
  const platform = await issue(dir, 'platform', root, { names: ['edge.localhost'], key: 'rsa' });
  platformCert = platform;
  routes.setApp('id-edge', { appId: 'id-edge', app: 'edge', maintenance: false, endpoints: [], challenges: { tok: 'tok.key' } }, ['edge.localhost']);
  routes.setApp('id-other', { appId: 'id-other', app: 'other', maintenance: false, endpoints: [] }, ['other.localhost']);
  router = createRouter({ routes, h2IdleTimeoutMs: IDLE_MS, h2SettingsTimeoutMs: 500, covered: (sni, host) => tls.covers(sni, host) });
  tls = createTlsFront({ routes, platform, handshakeTimeoutMs: 500, onSecure: (s) => (s.alpnProtocol === 'h2' ? router.serveH2(s) : router.server.emit('connection', s)) });
  await new Promise<void>((r) => tls.server.listen(0, '127.0.0.1', () => r()));
  capPerAddress(tls.server, 6000); // the 5,000 idle sessions below come from one address
  capPerAddress(router.server, PER_ADDRESS);
  await new Promise<void>((r) => router.server.listen(0, '127.0.0.1', () => r()));
  tlsPort = (tls.server.address() as AddressInfo).port;
  plainPort = (router.server.address() as AddressInfo).port;
});
after(async () => {
  tls?.server.close();
  await router?.close();
  router?.server.close();
  await rm(dir, { recursive: true, force: true });
});

function openSession(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`https://127.0.0.1:${tlsPort}`, { servername: 'edge.localhost', ca: [root.cert] });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('when 5,000 HTTP/2 sessions sit idle, then each is sent GOAWAY and closed after the idle timeout', async () => {
  const sessions: ClientHttp2Session[] = [];
  let goaways = 0;
  let result: unknown;
  const started = Date.now();
  try {
    for (let i = 0; i < 5000; i += 250) {
      const batch = await Promise.all(Array.from({ length: 250 }, openSession));
      for (const s of batch) s.once('goaway', () => goaways++);
      sessions.push(...batch);
    }
    const closed = Promise.all(sessions.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))));
    assert.ok(sessionsOpen() > 0, 'the router holds the sessions while they are fresh');
    result = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), IDLE_MS + 30_000).unref())]);
  } finally {
    for (const s of sessions) s.destroy();
  }
  assert.equal(result, 'closed', `every idle session closed (${sessions.filter((s) => !s.closed).length} still open after ${Date.now() - started} ms)`);
  assert.ok(goaways >= 4900, `the router said GOAWAY (${goaways} of 5000)`);
  await waitFor('the router to hold no session', () => sessionsOpen() === 0, 5000, 50);
});

test('when a client never starts its TLS handshake, or never sends HTTP/2 SETTINGS, then its connection is dropped within the timeout', async () => {
  const started = Date.now();
  const bare = netConnect(tlsPort, '127.0.0.1');
  bare.on('error', () => undefined);
  await new Promise((r) => bare.once('close', r));
  assert.ok(Date.now() - started < 3000, `no handshake: dropped after ${Date.now() - started} ms`);

  const t2 = Date.now();
  const silent = tlsConnect({ port: tlsPort, host: '127.0.0.1', servername: 'edge.localhost', ca: [root.cert], ALPNProtocols: ['h2'] });
  silent.on('error', () => undefined);
  silent.resume(); // read, so the server's close is seen
  await new Promise((r) => silent.once('secureConnect', r));
  assert.equal(silent.alpnProtocol, 'h2');
  await new Promise((r) => silent.once('close', r));
  assert.ok(Date.now() - t2 < 3000, `no SETTINGS: dropped after ${Date.now() - t2} ms`);
});

test('when an ACME challenge path names constructor, then it is no challenge and the router answers as for any path', async () => {
  const real = await requestWithHost(plainPort, 'edge.localhost', '/.well-known/acme-challenge/tok');
  assert.deepEqual([real.status, real.body], [200, 'tok.key']);
  for (const token of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const r = await requestWithHost(plainPort, 'edge.localhost', `/.well-known/acme-challenge/${token}`);
    assert.equal(r.status, 503, `${token}: ${r.status} ${r.body.slice(0, 80)}`);
    assert.match(r.body, /no web processes running|H14/i, `${token}: the app's usual answer (no dynos: H14), not H99`);
  }
});

test('when a TLS client names one host in SNI and another its certificate does not cover in Host or :authority, then it gets 421', async () => {
  const ask = (host: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: tlsPort, path: '/', servername: 'edge.localhost', ca: [root.cert], headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal((await ask('edge.localhost')).status, 503, 'the covered host gets its app (no dynos: H14)');
  const other = await ask('other.localhost');
  assert.equal(other.status, 421);
  assert.match(other.body, /Misdirected Request/);
  const session = await openSession();
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':authority': 'other.localhost' });
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
      stream.resume();
    });
    assert.equal(status, 421, 'over HTTP/2 too (a connection reused for another app)');
  } finally {
    session.destroy();
  }
});

/** A connection from localAddress, resolved once open (or once closed, if the server closed it first). */
function openFrom(port: number, localAddress: string): Promise<{ socket: ReturnType<typeof netConnect>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** Open means the server keeps it: closed within 300 ms of opening is a refusal. */
const keptOpen = async (c: { closed: Promise<void> }) => Promise.race([c.closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);

test('when one address opens more connections than its cap, then the next is closed as it arrives and another address is still served', async () => {
  const held = [];
  for (let i = 0; i < PER_ADDRESS; i++) held.push(await openFrom(plainPort, '127.0.0.1'));
  assert.deepEqual(await Promise.all(held.map(keptOpen)), held.map(() => true), `the first ${PER_ADDRESS} are kept`);
  const over = await openFrom(plainPort, '127.0.0.1');
  assert.equal(await keptOpen(over), false, 'the one over the cap is closed');
  const other = await new Promise<number>((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port: plainPort, path: '/', localAddress: '127.0.0.2', headers: { host: 'edge.localhost' }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
  });
  assert.equal(other, 503, 'another address is served (no dynos: H14)');
  held.pop()!.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const again = await openFrom(plainPort, '127.0.0.1');
  assert.equal(await keptOpen(again), true, 'a freed slot is taken again');
  for (const c of [...held, again]) c.socket.destroy();
});

test('when a client of the API\'s or the rendezvous port\'s front sends nothing, or stops mid-handshake, then it is closed within the timeout', async () => {
  const { cert, key } = platformCert;
  const http = createHttpServer((_q, r) => r.end('ok'));
  const fronts = {
    'API, plain': firstByteFront(http, 500),
    'API, TLS or plain': dualProtocolServer(http, { cert: Buffer.from(cert), key: Buffer.from(key), certFile: platformCert.certFile }, () => undefined, 500).listener,
    rendezvous: tlsOrElse(createTlsServer({ cert, key, handshakeTimeout: 500 }), (s) => s.end('plain\n'), 500),
  };
  try {
    for (const [name, server] of Object.entries(fronts)) {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as AddressInfo).port;
      const started = Date.now();
      const silent = await openFrom(port, '127.0.0.1');
      await silent.closed;
      assert.ok(Date.now() - started < 2500, `${name}: a silent client closed after ${Date.now() - started} ms`);
      if (name === 'API, plain') continue;
      const t2 = Date.now();
      const half = await openFrom(port, '127.0.0.1');
      half.socket.write(Buffer.from([0x16, 0x03, 0x01])); // a TLS record's start, and no more
      await half.closed;
      assert.ok(Date.now() - t2 < 2500, `${name}: a stalled handshake closed after ${Date.now() - t2} ms`);
    }
  } finally {
    for (const server of Object.values(fronts)) server.close();
  }
});
