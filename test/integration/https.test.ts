/**
 * HTTPS beside HTTP on the API port (the Heroku CLI's git remotes are https://HOST:PORT/APP.git): a self-signed
 * certificate made under DATA/tls, real TLS (an untrusting client is refused), and git pushing over it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import { subjectAltNames } from '../../server/tls.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let port: string;
let certFile: string;
before(async () => {
  p = await startTestPlatform({ SLIPWAY_TLS: 'self-signed' });
  port = new URL(p.url).port;
  certFile = join(p.dataDir, 'tls', 'self-signed.crt');
});
after(async () => p?.close());

function getTls(path: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port: Number(port), path, ca, headers: { authorization: `Bearer ${p.adminToken}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

test('when TLS is self-signed, then the API port answers HTTPS with a certificate for loopback and plain HTTP alike', async () => {
  const ca = await readFile(certFile);
  assert.equal(((await stat(join(p.dataDir, 'tls', 'self-signed.key'))).mode & 0o077), 0, 'the key is private to its owner');
  const secure = await getTls('/account', ca);
  assert.equal(secure.status, 200);
  assert.equal(JSON.parse(secure.body).email, 'admin@example.com');
  const plain = await p.api('GET', '/account');
  assert.equal(plain.status, 200);
  await assert.rejects(getTls('/account'), /self[- ]signed|unable to verify/i, 'a client that does not trust the certificate is refused: this is real TLS');
});

test('when git pushes to the https remote, then the app is built and released', async () => {
  assert.equal((await p.api('POST', '/apps', { name: 'tls-app' })).status, 201);
  const dir = await p.checkout('procfile-shell', 'tls-app');
  const push = await p.git(dir, ['-c', `http.sslCAInfo=${certFile}`, 'push', `https://127.0.0.1:${port}/tls-app.git`, 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Released v1/);
  const untrusted = await p.git(dir, ['push', `https://127.0.0.1:${port}/tls-app.git`, 'main']);
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.out, /certificate/i);
});

test('when TLS settings are incomplete or unknown, then the config names the problem', () => {
  assert.throws(() => loadConfig({ SLIPWAY_TLS_CERT: '/x.crt' }), /SLIPWAY_TLS_CERT and SLIPWAY_TLS_KEY go together/);
  assert.throws(() => loadConfig({ SLIPWAY_TLS: 'yes' }), /SLIPWAY_TLS must be self-signed or off/);
  assert.deepEqual(loadConfig({ SLIPWAY_TLS_CERT: '/a.crt', SLIPWAY_TLS_KEY: '/a.key' }).tls, { certFile: '/a.crt', keyFile: '/a.key' });
  assert.equal(loadConfig({}).tls, undefined);
  assert.equal(subjectAltNames('slipway.example.com'), 'IP:127.0.0.1,IP:::1,DNS:localhost,DNS:slipway.example.com');
  assert.equal(subjectAltNames('10.0.0.5'), 'IP:127.0.0.1,IP:::1,DNS:localhost,IP:10.0.0.5');
  assert.equal(subjectAltNames('bad name,DNS:evil'), 'IP:127.0.0.1,IP:::1,DNS:localhost');
});
