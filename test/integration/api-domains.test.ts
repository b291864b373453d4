/** Custom domains over the API, and the router's table following them through pub/sub (real Postgres, Redis). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRouteTable } from '../../router/routes.js';
import { createLogger } from '../../server/log.js';
import { startRouteSync } from '../../server/plane/route-sync.js';
import { createPgRouteSource } from '../../server/plane/route-source.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { waitFor } from '../helpers/procs.js';
import { startTestDns } from '../helpers/dns-server.js';

let api: TestApi;
let alice: { token: string; id: string };
let bob: { token: string; id: string };
const table = new MemoryRouteTable();
let sync: { close(): void };

before(async () => {
  api = await startTestApi();
  alice = await api.user('alice@example.com');
  bob = await api.user('bob@example.com');
  sync = await startRouteSync(createPgRouteSource(api.platform), table, createLogger('router', 'warn'));
  for (const [name, token] of [['shop', alice.token], ['blog', alice.token], ['bobs', bob.token]]) {
    assert.equal((await api.request('POST', '/apps', { token, body: { name } })).status, 201);
  }
});
after(async () => {
  sync?.close();
  await api?.close();
});

/** How long until the router's table maps host to app (or to nothing), polled every 5 ms. */
async function routedWithin(host: string, app: string | undefined, limitMs: number): Promise<number> {
  const t0 = Date.now();
  while (table.lookup(host)?.app !== app) {
    if (Date.now() - t0 > limitMs) assert.fail(`${host} → ${app ?? 'nothing'} not live within ${limitMs} ms (now ${table.lookup(host)?.app})`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

test('when a custom domain is added, then it is listed in Heroku shape and the router serves it within 200 ms', async () => {
  const list0 = await api.request('GET', '/apps/shop/domains', { token: alice.token });
  assert.equal(list0.status, 200);
  assert.deepEqual(list0.body.map((d: { hostname: string; kind: string }) => [d.hostname, d.kind]), [['shop.localhost', 'heroku']]);

  const added = await api.request('POST', '/apps/shop/domains', { token: alice.token, body: { hostname: 'WWW.Shop.Example.', sni_endpoint: null } });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.equal(added.body.hostname, 'www.shop.example');
  assert.equal(added.body.kind, 'custom');
  assert.equal(added.body.cname, 'shop.localhost');
  assert.equal(added.body.status, 'succeeded');
  assert.deepEqual(added.body.app, { id: added.body.app.id, name: 'shop' });
  const ms = await routedWithin('www.shop.example', 'shop', 200);
  assert.ok(ms <= 200);

  const one = await api.request('GET', '/apps/shop/domains/www.shop.example', { token: alice.token });
  assert.equal(one.body.id, added.body.id);
  const byId = await api.request('GET', `/apps/shop/domains/${added.body.id}`, { token: alice.token });
  assert.equal(byId.body.hostname, 'www.shop.example');

  const wild = await api.request('POST', '/apps/shop/domains', { token: alice.token, body: { hostname: '*.shop.example' } });
  assert.equal(wild.status, 201);
  await routedWithin('anything.shop.example', 'shop', 200);
});

test('when a hostname is taken, under the platform domain or malformed, then it is refused and nothing changes', async () => {
  const taken = await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: { hostname: 'www.shop.example' } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.message, 'Domain already added to another app.');
  const again = await api.request('POST', '/apps/shop/domains', { token: alice.token, body: { hostname: 'www.shop.example' } });
  assert.equal(again.status, 422);
  assert.match(again.body.message, /already added to shop/);
  for (const hostname of ['blog.localhost', 'new-app.localhost', '*.apps.localhost', 'api.localhost']) {
    const r = await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: { hostname } });
    assert.equal(r.status, 422, hostname);
    assert.match(r.body.message, /platform's domain/);
  }
  for (const hostname of ['http://evil.example', '10.0.0.1', 'a b.example', 'evil.example:80', 'x'.repeat(300), '../etc.example']) {
    const r = await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: { hostname } });
    assert.equal(r.status, 422, hostname);
    assert.equal(r.body.id, 'invalid_params');
  }
  assert.equal((await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: ['x'] })).status, 400);
  const bobs = await api.request('GET', '/apps/bobs/domains', { token: bob.token });
  assert.deepEqual(bobs.body.map((d: { hostname: string }) => d.hostname), ['bobs.localhost']);
  assert.equal(table.lookup('blog.localhost')?.app, 'blog');
});

test("when someone without access to an app touches its domains, then 404 as for any app they cannot see; no token is 401", async () => {
  assert.equal((await api.request('GET', '/apps/shop/domains', { token: bob.token })).status, 404);
  assert.equal((await api.request('POST', '/apps/shop/domains', { token: bob.token, body: { hostname: 'mine.example' } })).status, 404);
  assert.equal((await api.request('DELETE', '/apps/shop/domains/www.shop.example', { token: bob.token })).status, 404);
  assert.equal((await api.request('GET', '/apps/shop/domains')).status, 401);
  assert.equal(table.lookup('www.shop.example')?.app, 'shop');
});

test('when a custom domain is removed, then the router stops serving it within 200 ms; the default domain cannot be removed', async () => {
  assert.equal((await api.request('DELETE', '/apps/shop/domains/*.shop.example', { token: alice.token })).status, 200);
  await routedWithin('anything.shop.example', undefined, 200);
  const gone = await api.request('DELETE', '/apps/shop/domains/www.shop.example', { token: alice.token });
  assert.equal(gone.status, 200);
  assert.equal(gone.body.hostname, 'www.shop.example');
  await routedWithin('www.shop.example', undefined, 200);
  assert.equal((await api.request('DELETE', '/apps/shop/domains/www.shop.example', { token: alice.token })).status, 404);
  const dflt = await api.request('DELETE', '/apps/shop/domains/shop.localhost', { token: alice.token });
  assert.equal(dflt.status, 422);
  assert.match(dflt.body.message, /default domain/);
  assert.equal(table.lookup('shop.localhost')?.app, 'shop');

  // A freed name can go to another app.
  assert.equal((await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: { hostname: 'www.shop.example' } })).status, 201);
  await routedWithin('www.shop.example', 'bobs', 200);
  assert.equal((await api.request('POST', '/apps/shop/domains', { token: alice.token, body: { hostname: 'shop.example' } })).status, 201);
  await routedWithin('shop.example', 'shop', 200);
  const cleared = await api.request('DELETE', '/apps/shop/domains', { token: alice.token });
  assert.deepEqual(cleared.body.map((d: { hostname: string }) => d.hostname), ['shop.localhost']);
  await routedWithin('shop.example', undefined, 200);
});

test('when an app is destroyed, then its custom domains go with it and are free again', async () => {
  assert.equal((await api.request('POST', '/apps/blog/domains', { token: alice.token, body: { hostname: 'blog.example' } })).status, 201);
  await routedWithin('blog.example', 'blog', 200);
  assert.equal((await api.request('DELETE', '/apps/blog', { token: alice.token })).status, 200);
  await routedWithin('blog.example', undefined, 500);
  assert.equal((await api.request('POST', '/apps/bobs/domains', { token: bob.token, body: { hostname: 'blog.example' } })).status, 201);
});

test("when an app sets SLIPWAY_ROUTER_TIMEOUT / SLIPWAY_ROUTER_IDLE_TIMEOUT, then its route carries them; bad values mean the router's defaults", async () => {
  const set = await api.request('PATCH', '/apps/bobs/config-vars', { token: bob.token, body: { SLIPWAY_ROUTER_TIMEOUT: '90', SLIPWAY_ROUTER_IDLE_TIMEOUT: '120' } });
  assert.equal(set.status, 200);
  await waitFor('the new timeouts in the table', () => table.lookup('bobs.localhost')?.requestTimeoutMs === 90_000, 2000, 10);
  assert.equal(table.lookup('bobs.localhost')?.idleTimeoutMs, 120_000);
  await api.request('PATCH', '/apps/bobs/config-vars', { token: bob.token, body: { SLIPWAY_ROUTER_TIMEOUT: 'soon', SLIPWAY_ROUTER_IDLE_TIMEOUT: '99999' } });
  await waitFor('the defaults again', () => table.lookup('bobs.localhost')?.requestTimeoutMs === undefined, 2000, 10);
  assert.equal(table.lookup('bobs.localhost')?.idleTimeoutMs, undefined);
});

test('when custom domains must be proved (SLIPWAY_DOMAIN_VERIFICATION=txt), then a name is added only once its TXT record names that app, and neither the platform host\'s parent nor a wildcard over the platform may be claimed', async () => {
  // The resolver is a stand-in on loopback, the only DNS a test may reach; the platform asks it as it would any.
  const dns = await startTestDns();
  const strict = await startTestApi({
    SLIPWAY_DOMAIN_VERIFICATION: 'txt', SLIPWAY_DNS_SERVERS: dns.address, SLIPWAY_BASE_DOMAIN: 'apps.example.test', SLIPWAY_PUBLIC_URL: 'https://slipway.example.test',
  });
  try {
    const carol = await strict.user('carol@example.com');
    const dave = await strict.user('dave@example.com');
    for (const [name, token] of [['carols', carol.token], ['daves', dave.token]]) assert.equal((await strict.request('POST', '/apps', { token, body: { name } })).status, 201);
    const add = (app: string, token: string, hostname: string) => strict.request('POST', `/apps/${app}/domains`, { token, body: { hostname } });

    const first = await add('carols', carol.token, 'www.owned.example');
    assert.equal(first.status, 422);
    const m = /add a DNS TXT record (_slipway-challenge\.owned\.example|_slipway-challenge\.www\.owned\.example) with the value "(slipway-verification=[0-9a-f]{32})"/.exec(first.body.message);
    assert.ok(m, first.body.message);
    assert.match(first.body.message, /no such record yet/);
    assert.ok(dns.queries.includes('_slipway-challenge.www.owned.example'), 'the platform asked the resolver it was given');
    dns.txt.set(m[1], ['something-else']);
    assert.match((await add('carols', carol.token, 'www.owned.example')).body.message, /holds other values/);
    dns.txt.set(m[1], ['something-else', m[2]]);
    assert.equal((await add('carols', carol.token, 'www.owned.example')).status, 201, 'proved: added');
    assert.equal((await strict.request('GET', '/apps/carols/domains', { token: carol.token })).body.length, 2);

    // Another app cannot use carol's record: its value is tied to the app.
    dns.txt.set('_slipway-challenge.owned.example', [m[2]]);
    const dave1 = await add('daves', dave.token, '*.owned.example');
    assert.equal(dave1.status, 422);
    assert.match(dave1.body.message, /_slipway-challenge\.owned\.example/);

    // The parent domain of the platform's host (slipway.example.test).
    const apex = await add('carols', carol.token, 'example.test');
    assert.equal(apex.status, 422);
    assert.match(apex.body.message, /parent domain of the platform's own host names/);

    // Wildcards over the platform's own names, proved or not.
    for (const hostname of ['*.example.test', '*.apps.example.test']) {
      const r = await add('carols', carol.token, hostname);
      assert.equal(r.status, 422, hostname);
      assert.match(r.body.message, /platform's (own name apps\.example\.test|domain apps\.example\.test)/, hostname);
    }
  } finally {
    await strict.close();
    await dns.close();
  }
});
