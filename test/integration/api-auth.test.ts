import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => api?.close());

test('when no token is sent, then every route but /health answers 401 with a message', async () => {
  for (const [method, path] of [['GET', '/apps'], ['POST', '/apps'], ['GET', '/account'], ['GET', '/apps/x'], ['DELETE', '/apps/x'], ['GET', '/nope']]) {
    const r = await api.request(method, path);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.body.id, 'unauthorized');
    assert.match(r.body.message, /token/i);
  }
  assert.equal((await api.request('GET', '/health')).status, 200);
});

test('when an invalid token is sent, then 401 and nothing is created', async () => {
  const r = await api.request('POST', '/apps', { token: 'slw_not-a-real-token', body: { name: 'sneaky' } });
  assert.equal(r.status, 401);
  assert.equal(r.body.message, 'Invalid credentials provided.');
  const list = await api.request('GET', '/apps', { token: api.adminToken });
  assert.ok(!list.body.some((a: { name: string }) => a.name === 'sneaky'));
});

test('when the token is sent as the password of basic auth, then it is accepted (as Heroku and git do)', async () => {
  const basic = 'Basic ' + Buffer.from(`anyone:${api.adminToken}`).toString('base64');
  const r = await api.request('GET', '/account', { headers: { authorization: basic } });
  assert.equal(r.status, 200);
  assert.equal(r.body.email, 'admin@example.com');
});

test('when a user logs in with email and password, then a new working token comes back once', async () => {
  await api.user('login@example.com', 'login-password');
  const basic = 'Basic ' + Buffer.from('Login@Example.com:login-password').toString('base64');
  const r = await api.request('POST', '/oauth/authorizations', { headers: { authorization: basic }, body: {} });
  assert.equal(r.status, 201);
  assert.equal(r.body.user.email, 'login@example.com');
  const token = r.body.access_token.token;
  assert.match(token, /^slw_/);
  const me = await api.request('GET', '/account', { token });
  assert.equal(me.status, 200);
  assert.equal(me.body.email, 'login@example.com');
  assert.equal(me.body.admin, false);
  // only the hash is stored
  const rows = await api.platform.db.query('SELECT token_hash FROM api_tokens');
  assert.ok(rows.rows.every((row: { token_hash: string }) => row.token_hash !== token));
});

test('when the password is wrong or the user unknown, then 401 with the same message', async () => {
  for (const cred of ['login@example.com:wrong-password', 'nobody@example.com:whatever1', 'not-an-email:x']) {
    const r = await api.request('POST', '/oauth/authorizations', { headers: { authorization: 'Basic ' + Buffer.from(cred).toString('base64') }, body: {} });
    assert.equal(r.status, 401, cred);
    assert.equal(r.body.message, 'Invalid credentials provided.');
  }
});

test('when the admin creates a user, then it can log in; a non-admin cannot create users', async () => {
  const r = await api.request('POST', '/users', { token: api.adminToken, body: { email: 'New@Example.com', password: 'new-password' } });
  assert.equal(r.status, 201);
  assert.equal(r.body.email, 'new@example.com');
  const dup = await api.request('POST', '/users', { token: api.adminToken, body: { email: 'new@example.com', password: 'new-password' } });
  assert.equal(dup.status, 409);
  const short = await api.request('POST', '/users', { token: api.adminToken, body: { email: 'short@example.com', password: 'short' } });
  assert.equal(short.status, 422);
  assert.match(short.body.message, /Password must be/);
  const { token } = await api.user('plain@example.com');
  const denied = await api.request('POST', '/users', { token, body: { email: 'x@example.com', password: 'whatever-pw' } });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.id, 'forbidden');
});

test('when a user logs out (DELETE /oauth/authorizations/{id}), then that token stops working and no one else can revoke it', async () => {
  await api.user('logout@example.com', 'logout-password');
  const basic = 'Basic ' + Buffer.from('logout@example.com:logout-password').toString('base64');
  const made = await api.request('POST', '/oauth/authorizations', { headers: { authorization: basic }, body: { description: 'dashboard' } });
  assert.equal(made.status, 201);
  const { id, access_token: { token } } = made.body;
  const other = await api.user('other-logout@example.com', 'other-password');
  // Another user's token cannot revoke it, and a malformed id is simply not found.
  assert.equal((await api.request('DELETE', `/oauth/authorizations/${id}`, { token: other.token })).status, 404);
  assert.equal((await api.request('DELETE', '/oauth/authorizations/not-a-uuid', { token })).status, 404);
  assert.equal((await api.request('GET', '/account', { token })).status, 200);
  const revoked = await api.request('DELETE', `/oauth/authorizations/${id}`, { token });
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.id, id);
  assert.equal((await api.request('GET', '/account', { token })).status, 401);
  assert.equal((await api.request('GET', '/account', { token: other.token })).status, 200, 'other tokens untouched');
});
