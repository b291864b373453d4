/**
 * HTTPS at the router: its TLS port serves each app's uploaded certificate by SNI, the platform's for
 * *.localhost and for names no app covers; uploads are checked (key, chain order, dates, names) and keys never come
 * back; a replaced certificate is served within seconds with no failed request and open connections unaffected.
 * Certificates are made by the tests with openssl under a test CA the clients trust. Real PostgreSQL, Redis, runc.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:https';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createTlsFront } from '../../router/tls.js';
import { MemoryRouteTable } from '../../router/routes.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { issue, makeCa, type TestCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway } from '../helpers/slipway.js';
import { requestWithHost } from '../helpers/http.js';
import { openWebSocket } from '../helpers/websocket.js';

let t: TestPlatform;
let dir: string;
let root: TestCert;
let intermediate: TestCert;

/** A web dyno that answers with the headers it got. */
const ECHO = `import http.server, os, base64, hashlib
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("upgrade", "").lower() == "websocket": return self.websocket()
        body = ("app=" + os.environ["APP_NAME"] + "\\n" + "\\n".join(k.lower() + ": " + v for k, v in self.headers.items())).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def websocket(self):
        accept = base64.b64encode(hashlib.sha1((self.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + "\\r\\n\\r\\n").encode()); self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2: return
            n = head[1] & 0x7f; mask = self.rfile.read(4); data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            reply = ("echo " + data.decode() + " via " + self.headers.get("x-forwarded-proto", "-")).encode()
            self.wfile.write(bytes([0x81, len(reply)]) + reply); self.wfile.flush()
    def do_POST(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0: break
                data += chunk
        else:
            data = self.rfile.read(int(self.headers.get("content-length", "0")))
        body = ("posted " + str(len(data)) + " bytes: " + data.decode() + " (" + self.request_version + ", te=" + self.headers.get("transfer-encoding", "-") + ")").encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`;

interface TlsAnswer { status: number; body: string; subject: string; issuer: string; authorized: boolean; serial: string; headers: Record<string, unknown> }

/** GET over the router's TLS port with SNI servername (and Host), trusting the test CA. */
function httpsGet(servername: string, o: { agent?: Agent; trust?: string[]; path?: string } = {}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: t.routerTlsPort, path: o.path ?? '/', servername, headers: { host: servername }, ca: o.trust ?? [root.cert],
      rejectUnauthorized: false, agent: o.agent ?? false,
    }, (res) => {
      const socket = res.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject: String(peer.subject?.CN ?? ''), issuer: String(peer.issuer?.CN ?? ''), authorized: socket.authorized, serial: peer.serialNumber, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function deployEcho(app: string) {
  assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
  assert.equal((await t.api('PATCH', `/apps/${app}/config-vars`, { APP_NAME: app })).status, 200);
  const src = await t.checkout('procfile-shell', app);
  await writeFile(join(src, 'web.py'), ECHO);
  await writeFile(join(src, 'Procfile'), 'web: python3 web.py\n');
  for (const args of [['add', '-A'], ['commit', '-q', '-m', 'echo']]) assert.equal((await t.git(src, args)).code, 0);
  const push = await t.git(src, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
}

const upload = (app: string, chain: string, key: string) => t.api('POST', `/apps/${app}/sni-endpoints`, { certificate_chain: chain, private_key: key });

before(async () => {
  t = await startTestPlatform({}, { dynos: true });
  dir = await mkdtemp(join(t.dataDir, 'certs-'));
  root = await makeCa(dir);
  intermediate = await issue(dir, 'intermediate', root, { ca: true });
  await deployEcho('tls-one');
  await deployEcho('tls-two');
  for (const [app, host] of [['tls-one', 'www.one.example'], ['tls-two', 'api.two.example'], ['tls-two', 'www.two.example']]) {
    assert.equal((await t.api('POST', `/apps/${app}/domains`, { hostname: host })).status, 201);
  }
});
after(async () => t?.close());

test('when an app is reached over the TLS port by its platform name, then the platform certificate serves it and the dyno is told https', async () => {
  const r = await waitFor('tls-one over https', async () => {
    const a = await httpsGet('tls-one.localhost').catch(() => undefined);
    return a?.status === 200 ? a : undefined;
  }, 60_000, 250);
  assert.equal(r.subject, 'slipway', 'the platform certificate (self-signed, made in DATA/tls)');
  assert.match(r.body, /^app=tls-one$/m);
  assert.match(r.body, /^x-forwarded-proto: https$/m);
  assert.match(r.body, new RegExp(`^x-forwarded-port: ${t.routerTlsPort}$`, 'm'));
  const unknown = await httpsGet('nosuch.example');
  assert.equal(unknown.subject, 'slipway');
  assert.equal(unknown.status, 404);
});

test('when apps upload certificates, then SNI serves each app its own (a chain through an intermediate, an RSA wildcard) and the key never comes back', async () => {
  const one = await issue(dir, 'one', intermediate, { names: ['www.one.example'] });
  const two = await issue(dir, 'two', root, { names: ['*.two.example'], key: 'rsa' }); // an RSA key beside EC ones
  const made = await upload('tls-one', one.cert + intermediate.cert, one.key);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.deepEqual(made.body.ssl_cert.cert_domains, ['www.one.example']);
  assert.equal(made.body.ssl_cert['ca_signed?'], false, 'a test CA no system trusts');
  assert.equal(made.body.domains.length, 1, 'associated with the domain it covers');
  assert.equal((await upload('tls-two', two.cert, two.key)).status, 201);
  const again = await upload('tls-two', two.cert, two.key);
  assert.equal(again.status, 409, 'an identical upload is not a second endpoint');
  assert.match(again.body.message, /already added to tls-two as tls-two-[0-9a-f]{6}/);

  const keyBody = one.key.split('\n').slice(1, 3).join('');
  for (const path of ['/apps/tls-one/sni-endpoints', `/apps/tls-one/sni-endpoints/${made.body.name}`]) {
    const text = JSON.stringify((await t.api('GET', path)).body);
    assert.ok(!text.includes('PRIVATE KEY') && !text.includes(keyBody), `${path} holds no private key`);
  }
  const stored = (await t.platform.db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM sni_endpoints')).rows;
  assert.equal(stored.length, 2);
  for (const s of stored) assert.ok(s.private_key_sealed.startsWith('v1:') && !s.private_key_sealed.includes('PRIVATE KEY'), 'sealed at rest');

  const viaOne = await waitFor('tls-one\'s certificate served', async () => {
    const a = await httpsGet('www.one.example');
    return a.subject === 'www.one.example' ? a : undefined;
  }, 10_000, 200);
  assert.equal(viaOne.authorized, true, 'the chain verifies up to the test CA');
  assert.equal(viaOne.status, 200);
  assert.match(viaOne.body, /^app=tls-one$/m);
  for (const host of ['api.two.example', 'www.two.example']) {
    const a = await waitFor(`${host} served by the wildcard`, async () => {
      const r = await httpsGet(host);
      return r.subject === '*.two.example' ? r : undefined;
    }, 10_000, 200);
    assert.equal(a.authorized, true);
    assert.match(a.body, /^app=tls-two$/m);
  }
  assert.equal((await httpsGet('tls-two.localhost')).subject, 'slipway', 'the platform name keeps the platform certificate');
});

test('when routes load, then no certificate key is opened; a handshake opens its certificate\'s key once, and another certificate\'s stays sealed', async () => {
  // The routes as the router role loads them (keys sealed), behind a TLS front whose key opener is the platform's
  // KeyBox, counted.
  const served = await t.platform.services.sniEndpoints.served();
  const certs = [...served.values()].flat();
  assert.ok(certs.length >= 2, 'the uploads above');
  for (const c of certs) assert.ok(typeof c.key === 'object' && c.key.sealed.startsWith('v1:'), 'routes hold the key sealed');
  const opened: string[] = [];
  const routes = new MemoryRouteTable();
  for (const [appId, list] of served) routes.setApp(appId, { appId, app: appId, maintenance: false, endpoints: [], certificates: list }, list.flatMap((c) => c.serves));
  const front = createTlsFront({
    routes, platform: { cert: root.cert, key: root.key }, onSecure: (sock) => sock.end(),
    openKey: async (sealed) => { opened.push(sealed); return t.platform.services.keys.open(sealed); },
  });
  await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', () => r()));
  try {
    assert.deepEqual(opened, [], 'nothing opened by loading');
    const subject = (servername: string) => new Promise<string>((resolve, reject) => {
      const sock = tlsConnect({ port: (front.server.address() as AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
        resolve(String(sock.getPeerCertificate().subject?.CN));
        sock.destroy();
      });
      sock.on('error', reject);
    });
    assert.equal(await subject('www.one.example'), 'www.one.example');
    assert.equal(await subject('www.one.example'), 'www.one.example');
    assert.equal(opened.length, 1, 'one key opened, once');
  } finally {
    front.server.close();
  }
});

test('when an upload has a wrong key, an expired certificate, a chain out of order or names the app lacks, then each is a 422 naming the problem', async () => {
  const good = await issue(dir, 'good', intermediate, { names: ['www.one.example'] });
  const other = await issue(dir, 'other', root, { names: ['www.one.example'] });
  const expired = await issue(dir, 'expired', root, { names: ['www.one.example'], days: -1 });
  const elsewhere = await issue(dir, 'elsewhere', root, { names: ['shop.nowhere.example'] });
  const cases: [string, string, RegExp][] = [
    [good.cert + intermediate.cert, other.key, /The private key does not match the certificate/],
    [expired.cert, expired.key, /The certificate expired on \d{4}-/],
    [intermediate.cert + good.cert, good.key, /The private key does not match|out of order/],
    [good.cert + root.cert + intermediate.cert, good.key, /The certificate chain is out of order: certificate 2 \(CN=Slipway Test test-root\) did not issue certificate 1/],
    [elsewhere.cert, elsewhere.key, /cover none of the app's domains/],
    ['not a certificate', good.key, /holds no PEM certificate/],
    [good.cert, 'not a key', /private_key is not a PEM private key/],
  ];
  for (const [chain, key, problem] of cases) {
    const r = await upload('tls-one', chain, key);
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(r.body.message, problem);
    assert.ok(!r.body.message.includes('PRIVATE KEY'), 'the key is never echoed');
  }
});

test('when a certificate is replaced under load, then new handshakes get the new one within seconds, no request fails, and an open connection keeps working', async () => {
  const name = (await t.api('GET', '/apps/tls-one/sni-endpoints')).body[0].name as string;
  const before = await httpsGet('www.one.example');
  const open = new Agent({ keepAlive: true, maxSockets: 1 });
  const held = await httpsGet('www.one.example', { agent: open });
  assert.equal(held.serial, before.serial);
  let running = true;
  const statuses: number[] = [];
  const loop = (async () => {
    while (running) {
      statuses.push((await httpsGet('www.one.example').catch(() => ({ status: 0 }))).status);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const renewed = await issue(dir, 'one-renewed', intermediate, { names: ['www.one.example'] });
  const chainFile = join(dir, 'one-renewed-chain.crt');
  await writeFile(chainFile, renewed.cert + intermediate.cert);
  const cli = await slipway(['certs:update', chainFile, renewed.keyFile, '--name', name, '-a', 'tls-one'],
    cleanEnv({ SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken, HOME: t.home }));
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`Updating SSL certificate ${name} for tls-one\\.\\.\\. done`));
  assert.doesNotMatch(cli.stdout + cli.stderr, /PRIVATE KEY/);
  const t0 = Date.now();
  await waitFor('the renewed certificate served', async () => (await httpsGet('www.one.example')).serial !== before.serial, 10_000, 100);
  const took = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  running = false;
  await loop;
  assert.ok(statuses.length > 10, `requests made: ${statuses.length}`);
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'no request failed while the certificate changed');
  assert.ok(took < 10_000);
  const still = await httpsGet('www.one.example', { agent: open });
  assert.equal(still.status, 200);
  assert.equal(still.serial, before.serial, 'the connection opened before the change still works, on its own handshake');
  open.destroy();
});

test('when certificates are listed, shown and removed with slipway certs, then the CLI prints them and the platform certificate comes back', async () => {
  const env = cleanEnv({ SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken, HOME: t.home });
  const list = await slipway(['certs', '-a', 'tls-two'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /\*\.two\.example/);
  const info = await slipway(['certs:info', '-a', 'tls-two'], env);
  assert.match(info.stdout, /Common Name\(s\):\s+\*\.two\.example/);
  assert.match(info.stdout, /Domains:\s+2/);
  const removed = await slipway(['certs:remove', '-a', 'tls-two'], env);
  assert.equal(removed.code, 0, removed.stderr);
  await waitFor('the platform certificate again', async () => (await httpsGet('www.two.example')).subject === 'slipway', 10_000, 200);
  assert.match((await slipway(['certs', '-a', 'tls-two'], env)).stdout, /tls-two has no SSL certificates/);
  const bad = await slipway(['certs:add', join(dir, 'nosuch.crt'), join(dir, 'nosuch.key'), '-a', 'tls-two'], env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Cannot read the certificate/);
});

test('when an app turns on https-only and hsts, then plain requests are redirected to https and responses over TLS carry Strict-Transport-Security', async () => {
  const env = cleanEnv({ SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken, HOME: t.home });
  const on = await slipway(['features:enable', 'https-only', '-a', 'tls-one'], env);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /Enabling https-only for tls-one\.\.\. done/);
  const redirected = await waitFor('the redirect', async () => {
    const r = await requestWithHost(t.routerPort!, 'tls-one.localhost', '/some/path?q=1');
    return r.status === 301 ? r : undefined;
  }, 10_000, 100);
  assert.equal(redirected.headers.location, `https://tls-one.localhost:${t.routerTlsPort}/some/path?q=1`);
  const posted = await requestWithHost(t.routerPort!, 'tls-one.localhost', '/form', { 'content-type': 'text/plain' }, 'POST', 'x=1');
  assert.equal(posted.status, 308, 'other methods keep theirs');
  assert.equal((await requestWithHost(t.routerPort!, 'tls-two.localhost')).status, 200, 'only that app');
  const secure = await httpsGet('tls-one.localhost');
  assert.equal(secure.status, 200);
  assert.equal(secure.headers['strict-transport-security'], undefined, 'no HSTS until asked');

  assert.equal((await slipway(['features:enable', 'hsts', '-a', 'tls-one'], env)).code, 0);
  await waitFor('HSTS over TLS', async () => (await httpsGet('tls-one.localhost')).headers['strict-transport-security'] === 'max-age=31536000', 10_000, 100);
  const list = await slipway(['features', '-a', 'tls-one'], env);
  assert.match(list.stdout, /\[\+\] https-only/);
  assert.match(list.stdout, /\[\+\] hsts/);
  const again = await slipway(['features:enable', 'https-only', '-a', 'tls-one'], env);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /https-only is already enabled/);
  assert.equal((await t.api('PATCH', '/apps/tls-one/features/nosuch', { enabled: true })).status, 404);

  assert.equal((await slipway(['features:disable', 'https-only', '-a', 'tls-one'], env)).code, 0);
  await waitFor('plain HTTP served again', async () => (await requestWithHost(t.routerPort!, 'tls-one.localhost')).status === 200, 10_000, 100);
});

/** One request on an HTTP/2 session: status, headers and body. */
function h2Request(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let text = '';
    let head: Record<string, unknown> = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

test('when clients speak HTTP/2 (Node\'s http2 client, curl --http2), then the router answers over h2 and the dyno gets HTTP/1.1 with Host and https', async () => {
  const session = h2connect(`https://127.0.0.1:${t.routerTlsPort}`, { servername: 'www.one.example', ca: [root.cert] });
  try {
    const [a, b] = await Promise.all([
      h2Request(session, { ':path': '/first', ':authority': 'www.one.example' }),
      h2Request(session, { ':path': '/second', ':authority': 'www.one.example' }),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.status, 200);
      assert.match(r.body, /^app=tls-one$/m);
      assert.match(r.body, /^host: www\.one\.example$/m);
      assert.match(r.body, /^x-forwarded-proto: https$/m);
      assert.equal(r.headers.connection, undefined, 'no connection-specific header over h2');
    }
    assert.equal(session.alpnProtocol, 'h2');
    // A body with no length (DATA frames only) reaches the dyno chunked; one with a length, as it was.
    const streamed = await h2Request(session, { ':path': '/post', ':method': 'POST', ':authority': 'www.one.example' }, 'hello over h2');
    assert.equal(streamed.body, 'posted 13 bytes: hello over h2 (HTTP/1.1, te=chunked)');
    const sized = await h2Request(session, { ':path': '/post', ':method': 'POST', ':authority': 'www.one.example', 'content-length': '5' }, 'sized');
    assert.equal(sized.body, 'posted 5 bytes: sized (HTTP/1.1, te=-)');
    // A name this connection's certificate (www.one.example's) does not cover: the client must connect for it anew.
    const misdirected = await h2Request(session, { ':path': '/', ':authority': 'nosuch.example' });
    assert.equal(misdirected.status, 421);
  } finally {
    session.close();
  }
  const port = String(t.routerTlsPort);
  const curl = await promisify(execFile)('curl', ['--http2', '-sS', '--cacert', root.certFile, '--resolve', `www.one.example:${port}:127.0.0.1`,
    '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://www.one.example:${port}/`]);
  assert.equal(curl.stdout, '2 200');
  const h1 = await promisify(execFile)('curl', ['--http1.1', '-sS', '--cacert', root.certFile, '--resolve', `www.one.example:${port}:127.0.0.1`,
    '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://www.one.example:${port}/`]);
  assert.equal(h1.stdout, '1.1 200', 'HTTP/1.1 clients still get HTTP/1.1');
});

test('when a client opens a websocket over TLS (wss), then it tunnels through the router to the dyno as over HTTP, told https', async () => {
  const ws = await openWebSocket(t.routerTlsPort!, 'www.one.example', { ca: [root.cert] });
  try {
    assert.equal(await ws.send('hello over wss'), 'echo hello over wss via https');
    assert.equal(await ws.send('again'), 'echo again via https');
  } finally {
    ws.close();
  }
  const plain = await openWebSocket(t.routerPort!, 'tls-one.localhost');
  try {
    assert.equal(await plain.send('plain'), 'echo plain via http');
  } finally {
    plain.close();
  }
});
