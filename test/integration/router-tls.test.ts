/**
 * HTTPS at the router: its TLS port serves each app's uploaded certificate by SNI, the platform's for
 * *.localhost and for names no app covers; uploads are checked (key, chain order, dates, names) and keys never come
 * back; a replaced certificate is served within seconds with no failed request and open connections unaffected.
 * Certificates are made by the tests with openssl under a test CA the clients trust. Real PostgreSQL, Redis, runc.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { issue, makeCa, type TestCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway } from '../helpers/slipway.js';

let t: TestPlatform;
let dir: string;
let root: TestCert;
let intermediate: TestCert;

/** A web dyno that answers with the headers it got. */
const ECHO = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("app=" + os.environ["APP_NAME"] + "\\n" + "\\n".join(k.lower() + ": " + v for k, v in self.headers.items())).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`;

interface TlsAnswer { status: number; body: string; subject: string; issuer: string; authorized: boolean; serial: string }

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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject: String(peer.subject?.CN ?? ''), issuer: String(peer.issuer?.CN ?? ''), authorized: socket.authorized, serial: peer.serialNumber }));
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

test('when apps upload certificates, then SNI serves each app its own (a chain through an intermediate, a wildcard) and the key never comes back', async () => {
  const one = await issue(dir, 'one', intermediate, { names: ['www.one.example'] });
  const two = await issue(dir, 'two', root, { names: ['*.two.example'] });
  const made = await upload('tls-one', one.cert + intermediate.cert, one.key);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.deepEqual(made.body.ssl_cert.cert_domains, ['www.one.example']);
  assert.equal(made.body.ssl_cert['ca_signed?'], false, 'a test CA no system trusts');
  assert.equal(made.body.domains.length, 1, 'associated with the domain it covers');
  assert.equal((await upload('tls-two', two.cert, two.key)).status, 201);

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
  const cli = await slipway(['certs:update', renewed.certFile, renewed.keyFile, '--name', name, '-a', 'tls-one'],
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
