import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let t: TestPlatform;
let other: string;
before(async () => {
  t = await startTestPlatform();
  assert.equal((await t.api('POST', '/apps', { name: 'guarded' })).status, 201);
  const u = await t.platform.services.users.create({ email: 'other@example.com', password: 'other-password' });
  other = (await t.platform.services.users.createToken(u)).token;
});
after(async () => t?.close());

/** A raw HTTP request, so nothing (not git, not fetch) normalizes the path. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const basic = (token: string) => ({ authorization: 'Basic ' + Buffer.from(`git:${token}`).toString('base64') });
const refs = async () => (await t.git(t.dataDir, ['--git-dir', join(t.dataDir, 'repos', 'guarded.git'), 'for-each-ref'])).out;

test('when a hand-made POST reaches git-receive-pack without credentials, then 401 and the refs are unchanged', async () => {
  const before = await refs();
  const pack = Buffer.from('00990000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main\0 report-status side-band-64k0000');
  const r = await raw('POST', '/guarded.git/git-receive-pack', { 'content-type': 'application/x-git-receive-pack-request' }, pack);
  assert.equal(r.status, 401);
  assert.match(String(r.headers['www-authenticate']), /^Basic/);
  assert.equal(await refs(), before);
  for (const path of ['/guarded.git/info/refs?service=git-receive-pack', '/guarded.git/info/refs?service=git-upload-pack', '/guarded.git/HEAD']) {
    assert.equal((await raw('GET', path)).status, 401, path);
  }
  assert.equal((await raw('POST', '/guarded.git/git-upload-pack', { 'content-type': 'application/x-git-upload-pack-request' }, Buffer.from('0000'))).status, 401);
});

test('when the token is wrong or belongs to a user without access, then 401 / 404 on every git route', async () => {
  assert.equal((await raw('GET', '/guarded.git/info/refs?service=git-receive-pack', basic('slw_wrong'))).status, 401);
  for (const [m, p] of [['GET', '/guarded.git/info/refs?service=git-receive-pack'], ['GET', '/guarded.git/HEAD'], ['POST', '/guarded.git/git-receive-pack']]) {
    const r = await raw(m, p, basic(other), m === 'POST' ? Buffer.from('0000') : undefined);
    assert.equal(r.status, 404, `${m} ${p}`);
    assert.match(r.text, /Repository not found/);
  }
});

test('when a URL names a path outside the repos dir or an unknown repo, then nothing is created anywhere', async () => {
  const probes = [
    ['GET', '//tmp/slipway-evil/y.git/HEAD'], ['GET', '//tmp/slipway-evil/y.git/info/refs?service=git-receive-pack'],
    ['GET', '/..%2f..%2ftmp%2fslipway-evil.git/info/refs?service=git-receive-pack'], ['GET', '/%2e%2e/slipway-evil.git/HEAD'],
    ['GET', '/nope-app.git/info/refs?service=git-receive-pack'], ['POST', '/nope-app.git/git-receive-pack'],
    ['GET', '/guarded.git/info/refs?service=git-evil'], ['GET', '/guarded.git/../../x'], ['GET', '/Evil.git/HEAD'],
  ];
  const before = (await readdir(join(t.dataDir, 'repos'))).sort();
  for (const [m, p] of probes) {
    const r = await raw(m, p, basic(t.adminToken), m === 'POST' ? Buffer.from('0000') : undefined);
    assert.ok(r.status === 404 || r.status === 401, `${m} ${p} → ${r.status}`);
  }
  assert.equal(existsSync('/tmp/slipway-evil'), false);
  assert.equal(existsSync('/tmp/slipway-evil.git'), false);
  assert.deepEqual((await readdir(join(t.dataDir, 'repos'))).sort(), before);
});

test('when the owner fetches with the token as password, then git smart HTTP answers', async () => {
  const r = await raw('GET', '/guarded.git/info/refs?service=git-upload-pack', basic(t.adminToken));
  assert.equal(r.status, 200);
  assert.match(r.text, /# service=git-upload-pack/);
  const clone = await t.git(t.dataDir, ['ls-remote', `${t.url}/guarded.git`]);
  assert.equal(clone.code, 0, clone.out);
});
