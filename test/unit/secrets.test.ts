import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, hashToken, newToken, verifyPassword } from '../../server/services/secrets.js';
import { readCredentials, tokenOf } from '../../server/api/auth.js';
import { loggedPath } from '../../server/api/create-api.js';
import { appFromRemote } from '../../cli/context.js';

test('when a password is hashed, then only the right password verifies', async () => {
  const h = await hashPassword('correct horse');
  assert.match(h, /^scrypt\$/);
  assert.ok(!h.includes('correct horse'));
  assert.equal(await verifyPassword('correct horse', h), true);
  assert.equal(await verifyPassword('wrong horse', h), false);
  assert.equal(await verifyPassword('x', null), false);
});

test('when tokens are made, then they are unique and their hash is stable', () => {
  const a = newToken();
  const b = newToken();
  assert.notEqual(a, b);
  assert.match(a, /^slw_[A-Za-z0-9_-]{40}$/);
  assert.equal(hashToken(a), hashToken(a));
  assert.notEqual(hashToken(a), a);
});

test('when credentials come as bearer or basic, then the token is read from either', () => {
  assert.equal(tokenOf(readCredentials('Bearer abc')), 'abc');
  assert.equal(tokenOf(readCredentials('Basic ' + Buffer.from('any:tok').toString('base64'))), 'tok');
  assert.deepEqual(readCredentials('Basic ' + Buffer.from('a@b.c:p:w').toString('base64')).basic, { user: 'a@b.c', password: 'p:w' });
  assert.equal(tokenOf(readCredentials('Digest x')), undefined);
  assert.equal(tokenOf(readCredentials(undefined)), undefined);
});

test('when a git remote URL names an app, then the CLI finds it', () => {
  assert.equal(appFromRemote('http://127.0.0.1:5050/my-app.git\n'), 'my-app');
  assert.equal(appFromRemote('https://host/x-y.git'), 'x-y');
  assert.equal(appFromRemote('git@github.com:me/Repo.git'), undefined);
});

test('when many passwords are checked at once, then a few run, some wait, and the rest are refused with 503 rather than queued without bound', async () => {
  const h = await hashPassword('concurrent horse');
  const results = await Promise.allSettled(Array.from({ length: 60 }, () => verifyPassword('concurrent horse', h)));
  const ok = results.filter((r) => r.status === 'fulfilled' && r.value === true).length;
  const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { status?: number }).status === 503).length;
  assert.equal(ok + refused, 60);
  assert.ok(ok >= 34 && refused >= 1, `${ok} checked, ${refused} refused`);
  assert.equal(await verifyPassword('concurrent horse', h), true, 'and afterwards it works as before');
});

test('when a request path is itself a credential (a log-session URL), then the request log does not write it down', () => {
  assert.equal(loggedPath('/log-sessions/AbCdEfGhIjKlMnOpQrStUvWxYz012345'), '/log-sessions/[token]');
  assert.equal(loggedPath('/apps/shop/log-sessions'), '/apps/shop/log-sessions');
  assert.equal(loggedPath('/apps/shop'), '/apps/shop');
});
