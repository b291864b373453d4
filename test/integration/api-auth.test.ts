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

const basicOf = (email: string, password: string) => 'Basic ' + Buffer.from(`${email}:${password}`).toString('base64');
/** The login guard counts in Redis per account and per address (all tests come from 127.0.0.1): a clean slate. */
async function clearLoginCounts() {
  const keys = await api.platform.redis.keys(`${api.platform.config.redisPrefix}:login:*`);
  if (keys.length) await api.platform.redis.del(...keys);
}
const login = (email: string, password: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  api.request('POST', '/oauth/authorizations', { headers: { authorization: basicOf(email, password), ...headers }, body });

test('when a password is guessed again and again, then the account waits longer each time (429, Retry-After), while other accounts log in', async () => {
  await clearLoginCounts();
  await api.user('guessed@example.com', 'the-real-password');
  await api.user('bystander@example.com', 'bystander-password');
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await login('guessed@example.com', `guess-${i}`)).status);
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'five free tries');
  assert.ok(statuses.slice(5).includes(429), `then it has to wait (${statuses})`);
  const waiting = await login('guessed@example.com', 'the-real-password');
  assert.equal(waiting.status, 429, 'even the right password waits while the account is held');
  assert.match(waiting.body.message, /Too many failed logins for this account: try again in \d+ s/);
  assert.match(String(waiting.headers.get('retry-after')), /^\d+$/);
  assert.equal((await login('bystander@example.com', 'bystander-password')).status, 201, 'another account is not held');
  await new Promise((r) => setTimeout(r, Number(waiting.headers.get('retry-after')) * 1000 + 200));
  assert.equal((await login('guessed@example.com', 'the-real-password')).status, 201, 'after the wait, the right password works');
  assert.equal((await login('guessed@example.com', 'wrong-again')).status, 401, 'and a success cleared the count');
});

test('when one address tries many accounts, then that address is held (429) after its share of failures', async () => {
  await clearLoginCounts();
  const spread: number[] = [];
  for (let i = 0; i < 32; i++) spread.push((await login(`spray-${i}@example.com`, 'password1', {}, {})).status);
  assert.ok(spread.slice(0, 30).every((s) => s === 401), `30 failures allowed per address (${spread})`);
  assert.equal(spread.at(-1), 429);
  assert.match((await login('spray-x@example.com', 'password1')).body.message, /from this address/);
  await clearLoginCounts();
});

test('when an email has no account, then the answer takes as long as a wrong password for one that has', async () => {
  await clearLoginCounts();
  await api.user('timed@example.com', 'timed-password');
  const time = async (email: string) => {
    const t0 = process.hrtime.bigint();
    assert.equal((await login(email, 'not-it-at-all')).status, 401);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 4; i++) {
    known.push(await time('timed@example.com'));
    unknown.push(await time(`nobody-${i}@example.com`));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const ratio = median(unknown) / median(known);
  assert.ok(ratio > 0.6 && ratio < 1.6, `unknown ${median(unknown).toFixed(1)} ms vs known ${median(known).toFixed(1)} ms`);
  await clearLoginCounts();
});

test('when a user lists its tokens, then it sees their ids, descriptions, expiry and which one it is using, never the others\' values; revoke-all ends them all', async () => {
  await clearLoginCounts();
  await api.user('tokens@example.com', 'tokens-password');
  const first = await login('tokens@example.com', 'tokens-password', { description: 'laptop' });
  const second = await login('tokens@example.com', 'tokens-password', { description: 'ci', expires_in: 3600 });
  assert.equal(first.status, 201);
  assert.ok(first.body.access_token.expires_in > 29 * 86_400 && first.body.access_token.expires_in <= 30 * 86_400, 'a login token expires in 30 days');
  assert.ok(second.body.access_token.expires_in <= 3600 && second.body.access_token.expires_in > 3500);
  const asked = await login('tokens@example.com', 'tokens-password', { expires_in: 'forever' });
  assert.equal(asked.status, 422);
  const token = first.body.access_token.token as string;
  const list = await api.request('GET', '/oauth/authorizations', { token });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((a: { description: string }) => a.description).sort(), ['', 'ci', 'laptop'], 'the one made with the user, and two logins');
  const mine = list.body.find((a: { id: string }) => a.id === first.body.id);
  assert.equal(mine.access_token.token, token, 'the token in use is shown to its own bearer (the Heroku CLI logs out by it)');
  assert.equal(list.body.find((a: { id: string }) => a.id === second.body.id).access_token.token, null, 'no other token value');
  assert.ok(!JSON.stringify(list.body).includes(second.body.access_token.token));
  const one = await api.request('GET', `/oauth/authorizations/${second.body.id}`, { token });
  assert.equal(one.body.description, 'ci');
  assert.equal((await api.request('GET', '/oauth/authorizations/~', { token })).body.resource, 'authorization');
  const other = await api.user('not-tokens@example.com');
  assert.equal((await api.request('GET', `/oauth/authorizations/${second.body.id}`, { token: other.token })).status, 404, 'not another user\'s');
  const all = await api.request('DELETE', '/oauth/authorizations', { token });
  assert.deepEqual(all.body, { revoked: 3 });
  for (const t of [token, second.body.access_token.token]) assert.equal((await api.request('GET', '/account', { token: t })).status, 401);
  assert.equal((await api.request('GET', '/account', { token: other.token })).status, 200);
});

test('when a user makes a token with its token, then the new one expires as a login\'s does; an administrator may make one that does not', async () => {
  const user = await api.user('minter@example.com');
  const minted = await api.request('POST', '/oauth/authorizations', { token: user.token, body: { description: 'from a token' } });
  assert.equal(minted.status, 201);
  const ttl = minted.body.access_token.expires_in;
  assert.ok(ttl > 29 * 86_400 && ttl <= 30 * 86_400, `it expires in 30 days (${ttl} s), not never`);
  const longer = await api.request('POST', '/oauth/authorizations', { token: user.token, body: { expires_in: 365 * 86_400 } });
  assert.ok(longer.status === 422 || longer.body.access_token.expires_in <= 30 * 86_400, 'no longer than a login\'s');
  const admins = await api.request('POST', '/oauth/authorizations', { token: api.adminToken, body: { description: 'ci' } });
  assert.equal(admins.status, 201);
  assert.equal(admins.body.access_token.expires_in, null, 'an administrator\'s never expires unless asked');
});

test('when a token has expired, then it no longer works and is no longer listed', async () => {
  await clearLoginCounts();
  await api.user('expiring@example.com', 'expiring-password');
  const made = await login('expiring@example.com', 'expiring-password', { expires_in: 60 });
  const token = made.body.access_token.token as string;
  assert.equal((await api.request('GET', '/account', { token })).status, 200);
  await api.platform.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [made.body.id]);
  assert.equal((await api.request('GET', '/account', { token })).status, 401);
});

test('when builds run on the host (no build containers), then the platform takes one user only and says why', async () => {
  const hostBuilds = await startTestApi({ SLIPWAY_BUILD_ISOLATION: 'host' });
  try {
    const r = await hostBuilds.request('POST', '/users', { token: hostBuilds.adminToken, body: { email: 'second@example.com', password: 'second-password' } });
    assert.equal(r.status, 422);
    assert.match(r.body.message, /builds on the host.*every build can read its data dir.*one user only/);
  } finally {
    await hostBuilds.close();
  }
});
