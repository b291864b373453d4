import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
let alice: { token: string; id: string };
let bob: { token: string; id: string };
before(async () => {
  api = await startTestApi();
  alice = await api.user('alice@example.com');
  bob = await api.user('bob@example.com');
});
after(async () => api?.close());

const repoDir = () => join(api.dataDir, 'repos');
const repos = async () => readdir(repoDir()).catch(() => [] as string[]);

test('when an app is created with a name, then it has Heroku app fields and a bare repo', async () => {
  const r = await api.request('POST', '/apps', { token: alice.token, body: { name: 'alice-app' } });
  assert.equal(r.status, 201);
  const app = r.body;
  assert.equal(app.name, 'alice-app');
  assert.match(app.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(app.owner, { email: 'alice@example.com', id: alice.id });
  assert.equal(app.web_url, 'http://alice-app.localhost:8080/');
  assert.match(app.git_url, /\/alice-app\.git$/);
  assert.deepEqual(app.generation, { name: 'cedar' });
  assert.equal(app.stack.name, 'bookworm');
  assert.equal(app.maintenance, false);
  for (const field of ['repo_size', 'slug_size', 'created_at', 'updated_at', 'released_at', 'build_stack', 'region']) assert.ok(field in app, field);
  assert.ok((await stat(join(repoDir(), 'alice-app.git', 'HEAD'))).isFile());

  const got = await api.request('GET', '/apps/alice-app', { token: alice.token });
  assert.equal(got.status, 200);
  assert.equal(got.body.id, app.id);
  assert.ok(got.body.repo_size > 0);
  const byId = await api.request('GET', `/apps/${app.id}`, { token: alice.token });
  assert.equal(byId.body.name, 'alice-app');
  // GET /apps/{app} (which the dashboard polls) reads the size measured after the last push; it never walks the repo.
  await api.platform.db.query('UPDATE apps SET repo_size = 123456789 WHERE id = $1', [app.id]);
  assert.equal((await api.request('GET', '/apps/alice-app', { token: alice.token })).body.repo_size, 123456789);
});

test('when apps are listed, then each carries its current release and dyno counts by state (what the dashboard shows)', async () => {
  const made = await api.request('POST', '/apps', { token: alice.token, body: { name: 'alice-summary' } });
  const fresh = (await api.request('GET', '/apps', { token: alice.token })).body.find((a: { name: string }) => a.name === 'alice-summary');
  assert.equal(fresh.current_release, null);
  assert.deepEqual(fresh.dynos, { starting: 0, up: 0, crashed: 0, stopping: 0 });
  const db = api.platform.db;
  const id = made.body.id;
  await db.query(`INSERT INTO releases (app_id, version, description, status) VALUES ($1, 1, 'one', 'succeeded'), ($1, 2, 'two', 'succeeded'), ($1, 3, 'three', 'failed')`, [id]);
  const rel = (await db.query(`SELECT id FROM releases WHERE app_id = $1 AND version = 2`, [id])).rows[0].id;
  for (const [name, state] of [['web.1', 'up'], ['web.2', 'up'], ['worker.1', 'crashed'], ['web.3', 'starting'], ['web.4', 'down']]) {
    await db.query(`INSERT INTO dynos (app_id, release_id, name, type, command, state) VALUES ($1, $2, $3, $4, 'x', $5)`, [id, rel, name, name.split('.')[0], state]);
  }
  const listed = (await api.request('GET', '/apps', { token: alice.token })).body.find((a: { name: string }) => a.name === 'alice-summary');
  assert.deepEqual(listed.current_release, { version: 2 }, 'the newest succeeded release, not the failed one');
  assert.deepEqual(listed.dynos, { starting: 1, up: 2, crashed: 1, stopping: 0 });
  // One app's GET stays Heroku's shape.
  assert.equal('dynos' in (await api.request('GET', '/apps/alice-summary', { token: alice.token })).body, false);
  assert.equal((await api.request('DELETE', '/apps/alice-summary', { token: alice.token })).status, 200);
});

test('when an app is created without a name, then it gets a random adjective-noun-number name', async () => {
  const r = await api.request('POST', '/apps', { token: alice.token, body: {} });
  assert.equal(r.status, 201);
  assert.match(r.body.name, /^[a-z]+-[a-z]+-\d{4}$/);
  const noBody = await api.request('POST', '/apps', { token: alice.token });
  assert.equal(noBody.status, 201);
  assert.notEqual(noBody.body.name, r.body.name);
});

test('when the name is bad, reserved or taken, then 422/409 with a message and nothing is created', async () => {
  const before = await repos();
  const count = async () => Number((await api.platform.db.query('SELECT count(*) FROM apps')).rows[0].count);
  const n = await count();
  for (const name of ['Bad', 'a', 'x;rm -rf /', '../../etc', 'ends-', 'api', 'caf\u00e9', 'a'.repeat(31), 42]) {
    const r = await api.request('POST', '/apps', { token: alice.token, body: { name } });
    assert.equal(r.status, 422, String(name));
    assert.equal(r.body.id, 'invalid_params');
    assert.ok(r.body.message.length > 10);
  }
  const taken = await api.request('POST', '/apps', { token: bob.token, body: { name: 'alice-app' } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.message, 'Name alice-app is already taken.');
  assert.equal(await count(), n);
  assert.deepEqual(await repos(), before);
});

test("when a user asks for another user's app, then 404 as if it did not exist", async () => {
  for (const [method, path, body] of [
    ['GET', '/apps/alice-app'], ['PATCH', '/apps/alice-app', { maintenance: true }], ['DELETE', '/apps/alice-app'],
    ['GET', '/apps/alice-app/collaborators'], ['POST', '/apps/alice-app/collaborators', { user: 'bob@example.com' }],
  ] as [string, string, unknown][]) {
    const r = await api.request(method, path, { token: bob.token, body });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.deepEqual(r.body, { id: 'not_found', message: "Couldn't find that app." });
  }
  const missing = await api.request('GET', '/apps/no-such-app', { token: bob.token });
  assert.deepEqual(missing.body, { id: 'not_found', message: "Couldn't find that app." });
  const list = await api.request('GET', '/apps', { token: bob.token });
  assert.ok(!list.body.some((a: { name: string }) => a.name === 'alice-app'));
  const still = await api.request('GET', '/apps/alice-app', { token: alice.token });
  assert.equal(still.body.maintenance, false);
});

test('when the owner adds a collaborator, then the collaborator reaches the app but cannot destroy it', async () => {
  const add = await api.request('POST', '/apps/alice-app/collaborators', { token: alice.token, body: { user: 'bob@example.com' } });
  assert.equal(add.status, 201);
  assert.equal(add.body.user.email, 'bob@example.com');
  assert.equal(add.body.role, 'collaborator');
  const again = await api.request('POST', '/apps/alice-app/collaborators', { token: alice.token, body: { user: 'bob@example.com' } });
  assert.equal(again.status, 409);
  const unknown = await api.request('POST', '/apps/alice-app/collaborators', { token: alice.token, body: { user: 'ghost@example.com' } });
  assert.equal(unknown.status, 404);

  const list = await api.request('GET', '/apps/alice-app/collaborators', { token: bob.token });
  assert.deepEqual(list.body.map((c: { user: { email: string }; role: string }) => [c.user.email, c.role]), [
    ['alice@example.com', 'owner'], ['bob@example.com', 'collaborator'],
  ]);
  assert.equal((await api.request('GET', '/apps/alice-app', { token: bob.token })).status, 200);
  assert.ok((await api.request('GET', '/apps', { token: bob.token })).body.some((a: { name: string }) => a.name === 'alice-app'));
  const destroy = await api.request('DELETE', '/apps/alice-app', { token: bob.token });
  assert.equal(destroy.status, 403);
  assert.match(destroy.body.message, /Only the owner/);

  const removed = await api.request('DELETE', '/apps/alice-app/collaborators/bob@example.com', { token: alice.token });
  assert.equal(removed.status, 200);
  assert.equal((await api.request('GET', '/apps/alice-app', { token: bob.token })).status, 404);
});

test('when an app is renamed or put in maintenance, then the change shows and the repo follows', async () => {
  await api.request('POST', '/apps', { token: alice.token, body: { name: 'old-name' } });
  const r = await api.request('PATCH', '/apps/old-name', { token: alice.token, body: { name: 'new-name', maintenance: true } });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'new-name');
  assert.equal(r.body.maintenance, true);
  assert.ok((await repos()).includes('new-name.git'));
  assert.ok(!(await repos()).includes('old-name.git'));
  const domains = await api.platform.db.query(`SELECT hostname FROM domains d JOIN apps a ON a.id = d.app_id WHERE a.name = 'new-name'`);
  assert.deepEqual(domains.rows.map((d: { hostname: string }) => d.hostname), ['new-name.localhost']);
  const bad = await api.request('PATCH', '/apps/new-name', { token: alice.token, body: { maintenance: 'yes' } });
  assert.equal(bad.status, 422);
  const taken = await api.request('PATCH', '/apps/new-name', { token: alice.token, body: { name: 'alice-app' } });
  assert.equal(taken.status, 409);
  assert.ok((await repos()).includes('new-name.git'));
});

test('when an app is destroyed, then its row, repo and domain are gone', async () => {
  await api.request('POST', '/apps', { token: alice.token, body: { name: 'doomed' } });
  const r = await api.request('DELETE', '/apps/doomed', { token: alice.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'doomed');
  assert.equal((await api.request('GET', '/apps/doomed', { token: alice.token })).status, 404);
  assert.ok(!(await repos()).includes('doomed.git'));
  const d = await api.platform.db.query(`SELECT 1 FROM domains WHERE hostname = 'doomed.localhost'`);
  assert.equal(d.rowCount, 0);
});

test('when the body is malformed JSON or over 1 MB, then 400/413 with a message, never 500', async () => {
  const bad = await api.request('POST', '/apps', { token: alice.token, raw: '{"name": ' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { id: 'bad_request', message: 'Request body is not valid JSON.' });
  const big = await api.request('POST', '/apps', { token: alice.token, raw: JSON.stringify({ name: 'big-app', pad: 'x'.repeat(2 * 1024 * 1024) }) });
  assert.equal(big.status, 413);
  assert.equal(big.body.id, 'request_too_large');
  const arr = await api.request('POST', '/apps', { token: alice.token, body: ['x'] });
  assert.equal(arr.status, 400);
  assert.equal((await api.request('GET', '/apps/big-app', { token: alice.token })).status, 404);
});

test('when an unknown route is asked for, then a JSON 404 naming it', async () => {
  const r = await api.request('GET', '/no/such/route', { token: alice.token });
  assert.equal(r.status, 404);
  assert.equal(r.body.id, 'not_found');
  assert.match(r.body.message, /GET \/no\/such\/route/);
});

test('when a Range header asks for fewer apps than exist, then 206 with Next-Range, and the next page follows', async () => {
  const { token } = await api.user('ranger@example.com');
  for (const name of ['r-one', 'r-two', 'r-three']) await api.request('POST', '/apps', { token, body: { name } });
  const all = await api.request('GET', '/apps', { token });
  assert.equal(all.status, 200);
  assert.equal(all.headers.get('next-range'), null);
  assert.deepEqual(all.body.map((a: { name: string }) => a.name), ['r-one', 'r-three', 'r-two']);
  const page1 = await api.request('GET', '/apps', { token, headers: { range: 'name ..; max=2' } });
  assert.equal(page1.status, 206);
  assert.deepEqual(page1.body.map((a: { name: string }) => a.name), ['r-one', 'r-three']);
  const next = page1.headers.get('next-range');
  assert.equal(next, 'name ]r-three..; order=asc, max=2');
  const page2 = await api.request('GET', '/apps', { token, headers: { range: next! } });
  assert.equal(page2.status, 200);
  assert.deepEqual(page2.body.map((a: { name: string }) => a.name), ['r-two']);
  const desc = await api.request('GET', '/users/~/apps', { token, headers: { range: 'name ..; order=desc, max=10' } });
  assert.equal(desc.status, 200);
  assert.deepEqual(desc.body.map((a: { name: string }) => a.name), ['r-two', 'r-three', 'r-one']);
});

test('when the Heroku CLI asks for add-ons, SNI endpoints, features or pipelines of an app without them, then it gets the answers it expects', async () => {
  assert.deepEqual((await api.request('GET', '/apps/new-name/addons', { token: alice.token })).body, []);
  assert.deepEqual((await api.request('GET', '/apps/new-name/sni-endpoints', { token: alice.token })).body, []);
  assert.equal((await api.request('GET', '/apps/new-name/pipeline-couplings', { token: alice.token })).status, 404);
  assert.equal((await api.request('GET', '/apps/new-name/addons', { token: bob.token })).status, 404);
  assert.equal((await api.request('GET', '/apps/new-name/sni-endpoints', { token: bob.token })).status, 404, 'another user\'s app');
  const features = (await api.request('GET', '/apps/new-name/features', { token: alice.token })).body;
  assert.deepEqual(features.map((f: { name: string; enabled: boolean }) => `${f.name}:${f.enabled}`), ['https-only:false', 'hsts:false']);
  assert.equal((await api.request('PATCH', '/apps/new-name/features/hsts', { token: bob.token, body: { enabled: true } })).status, 404);
  assert.equal((await api.request('PATCH', '/apps/new-name/features/hsts', { token: alice.token, body: { enabled: 'yes' } })).status, 400);
});

test('when an egress policy is set, then only an administrator may, a bad one is a 422 naming the problem, and each app has its own uid', async () => {
  await api.request('POST', '/apps', { token: alice.token, body: { name: 'alice-egress' } });
  const path = '/apps/alice-egress/egress';
  assert.deepEqual((await api.request('GET', path, { token: alice.token })).body, { policy: 'allow' });
  const denied = await api.request('PUT', path, { token: alice.token, body: { policy: 'deny' } });
  assert.equal(denied.status, 403);
  assert.match(denied.body.message, /administrator/);
  const bad = await api.request('PUT', path, { token: api.adminToken, body: { policy: 'allowlist', rules: [{ cidr: '10.0.0.300/8' }] } });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /not an IPv4 address or CIDR: "10\.0\.0\.300\/8"/);
  const badPort = await api.request('PUT', path, { token: api.adminToken, body: { policy: 'allowlist', rules: [{ cidr: '10.0.0.0/8', ports: [70000] }] } });
  assert.match(badPort.body.message, /not a port: 70000/);
  const set = await api.request('PUT', path, { token: api.adminToken, body: { policy: 'allowlist', rules: [{ cidr: '10.1.2.3', ports: [5432] }] } });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body, { policy: 'allowlist', rules: [{ cidr: '10.1.2.3/32', ports: [5432] }] });
  assert.deepEqual((await api.request('GET', path, { token: alice.token })).body, set.body);
  assert.equal((await api.request('GET', path, { token: bob.token })).status, 404, 'no access, no policy');
  const uids = (await api.platform.db.query<{ uid: number }>(`SELECT uid FROM apps WHERE name IN ('alice-egress', 'alice-app')`)).rows.map((r) => r.uid);
  assert.equal(new Set(uids).size, 2);
  assert.ok(uids.every((u) => u >= 100000), uids.join(','));
  const shown = (await api.request('GET', '/apps/alice-egress', { token: alice.token })).body;
  assert.equal(shown.uid, undefined, 'the uid is the platform\'s business');
});
