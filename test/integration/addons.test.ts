/**
 * Add-ons as an app uses them: a fixture Node app (npm `pg` and `ioredis`, no lockfile, no engines) gets a
 * PostgreSQL database and a Redis from `POST /apps/{app}/addons`, writes a row and a key through HTTP, and finds them
 * again after a redeploy, a dyno restart and a rollback. Another app can neither reach the add-on server without an
 * attachment nor log in to the first app's database with its own credentials. Destroying the add-on drops its data
 * and its config var.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { waitFor } from '../helpers/procs.js';
import { createBackupScheduler } from '../../server/addons/backup-schedule.js';
import { createLogger } from '../../server/log.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_BOOT_TIMEOUT: '30', SLIPWAY_STOP_GRACE: '2', SLIPWAY_MAX_ADDONS_PER_APP: '2' }, { dynos: true, addons: true });
});
after(async () => t?.close());

const call = async (app: string, method: string, path: string) => {
  const r = await requestWithHost(t.routerPort!, `${app}.localhost`, path, {}, method);
  return { status: r.status, body: r.body };
};
const config = async (app: string) => (await t.api('GET', `/apps/${app}/config-vars`)).body as Record<string, string>;
const currentVersion = async (app: string) => ((await t.api('GET', `/apps/${app}/releases`)).body as { version: number; current: boolean }[]).find((r) => r.current)?.version;

/** Waits until the app's current release is at least v (a config change deploys a new one). */
async function deployed(app: string, v: number): Promise<void> {
  await waitFor(`${app} v${v} to be current`, async () => ((await currentVersion(app)) ?? 0) >= v, 90_000, 200).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await t.releasesReport(app)}`);
  });
}

async function pushFixture(app: string): Promise<string> {
  await t.createApp(app);
  const dir = await t.checkout('node-addons', app);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  return dir;
}

let dir: string;
let pgAddon: { id: string; name: string };

test('when a PostgreSQL and a Redis add-on are created, then the app gets DATABASE_URL and REDIS_URL and keeps a row and a key', async () => {
  dir = await pushFixture('shop');
  const before = (await currentVersion('shop'))!;
  const pg = await t.api('POST', '/apps/shop/addons', { plan: 'postgresql' });
  assert.equal(pg.status, 201, JSON.stringify(pg.body));
  assert.equal(pg.body.state, 'provisioned');
  assert.equal(pg.body.plan.name, 'heroku-postgresql:essential-0');
  assert.deepEqual(pg.body.config_vars, ['DATABASE_URL']);
  assert.match(pg.body.name, /^postgresql-[a-z]+-\d{5}$/);
  assert.ok(!JSON.stringify(pg.body).includes((await config('shop')).DATABASE_URL.split(':')[2].split('@')[0]), 'the add-on never shows its password');
  pgAddon = pg.body;

  const redis = await t.api('POST', '/apps/shop/addons', { plan: { name: 'heroku-redis:mini' } });
  assert.equal(redis.status, 201, JSON.stringify(redis.body));
  assert.equal(redis.body.state, 'provisioned', 'the add-on host started its server');
  assert.deepEqual(redis.body.config_vars, ['REDIS_URL']);
  const third = await t.api('POST', '/apps/shop/addons', { plan: 'redis' });
  assert.equal(third.status, 422);
  assert.match(third.body.message, /SLIPWAY_MAX_ADDONS_PER_APP/);
  const bad = await t.api('POST', '/apps/shop/addons', { plan: 'heroku-postgresql:enormous' });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /no plan "enormous"/);
  const vars = await config('shop');
  assert.match(vars.DATABASE_URL, /^postgres:\/\/d[0-9a-f]{20}:[0-9a-f]{48}@10\.213\.0\.1:\d+\/d[0-9a-f]{20}$/);
  assert.match(vars.REDIS_URL, /^redis:\/\/:[0-9a-f]{48}@10\.213\.0\.1:\d+$/);
  await deployed('shop', before + 2);

  const first = await call('shop', 'POST', '/rows?v=first');
  assert.deepEqual(first, { status: 200, body: 'inserted' });
  assert.deepEqual(await call('shop', 'GET', '/rows'), { status: 200, body: '["first"]' });
  assert.deepEqual(await call('shop', 'POST', '/key?v=kept'), { status: 200, body: 'OK' });
  assert.deepEqual(await call('shop', 'GET', '/key'), { status: 200, body: 'kept' });

  assert.ok(Number((await call('shop', 'GET', '/migrations')).body) >= 1, 'the release phase ran its migration against DATABASE_URL');
  const listed = await t.api('GET', '/apps/shop/addons');
  assert.deepEqual(listed.body.map((a: { addon_service: { name: string } }) => a.addon_service.name).sort(), ['heroku-postgresql', 'heroku-redis']);
});

test('when the app is redeployed, its dynos restarted and it is rolled back, then the row and the key are still there', async () => {
  const v = (await currentVersion('shop'))!;
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'again']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  await deployed('shop', v + 1);
  assert.equal((await call('shop', 'GET', '/rows')).body, '["first"]');

  assert.equal((await t.api('DELETE', '/apps/shop/dynos')).status, 202);
  await waitFor('the restarted dyno to answer', async () => (await call('shop', 'GET', '/key')).body === 'kept', 60_000, 300);

  const rolled = await t.api('POST', '/apps/shop/releases', { release: String(v) });
  assert.equal(rolled.status, 201, JSON.stringify(rolled.body));
  await deployed('shop', v + 2);
  assert.ok((await config('shop')).DATABASE_URL, 'a rollback keeps the add-ons\' config vars');
  assert.equal((await call('shop', 'GET', '/rows')).body, '["first"]');
  assert.equal((await call('shop', 'GET', '/key')).body, 'kept');
});

test('when another app has no attachment, then its dynos cannot reach the add-on server; with its own database, its credentials do not open the first app\'s', async () => {
  await pushFixture('other');
  const a = new URL((await config('shop')).DATABASE_URL);
  const probe = await call('other', 'GET', `/tcp?host=${a.hostname}&port=${a.port}`);
  assert.notEqual(probe.body, 'open', 'no network path to the add-on server without an attachment');
  assert.equal((await call('shop', 'GET', `/tcp?host=${a.hostname}&port=${a.port}`)).body, 'open', 'the attached app reaches it');
  const r = new URL((await config('shop')).REDIS_URL);
  assert.notEqual((await call('other', 'GET', `/tcp?host=${r.hostname}&port=${r.port}`)).body, 'open', 'nor to its Redis');

  const v = (await currentVersion('other'))!;
  assert.equal((await t.api('POST', '/apps/other/addons', { plan: 'heroku-postgresql:mini' })).status, 201);
  await deployed('other', v + 1);
  const b = new URL((await config('other')).DATABASE_URL);
  const intoA = `postgres://${b.username}:${b.password}@${a.host}/${a.pathname.slice(1)}`;
  const refused = await call('other', 'GET', `/login?url=${encodeURIComponent(intoA)}`);
  assert.match(refused.body, /^refused: .*(pg_hba|permission denied|no pg_hba\.conf entry)/, refused.body);
  const own = await call('other', 'GET', `/login?url=${encodeURIComponent(b.toString())}`);
  assert.equal(own.body, 'connected');
});

test('when a Redis add-on is attached to another app and detached again, then that app gets the URL under the attachment name and loses it', async () => {
  const redis = ((await t.api('GET', '/apps/shop/addons')).body as { name: string; addon_service: { name: string } }[]).find((x) => x.addon_service.name === 'heroku-redis')!;
  const v = (await currentVersion('other'))!;
  const attached = await t.api('POST', '/addon-attachments', { addon: redis.name, app: 'other', name: 'shared' });
  assert.equal(attached.status, 201, JSON.stringify(attached.body));
  assert.equal(attached.body.name, 'SHARED');
  assert.equal((await config('other')).SHARED_URL, (await config('shop')).REDIS_URL);
  await deployed('other', v + 1);
  const r = new URL((await config('other')).SHARED_URL);
  assert.equal((await call('other', 'GET', `/tcp?host=${r.hostname}&port=${r.port}`)).body, 'open', 'the attachment opens the way');
  assert.equal((await t.api('POST', '/addon-attachments', { addon: redis.name, app: 'other' })).status, 409, 'attached there already');

  const detached = await t.api('DELETE', `/addon-attachments/${attached.body.id}`);
  assert.equal(detached.status, 200, JSON.stringify(detached.body));
  assert.equal((await config('other')).SHARED_URL, undefined);
  const last = ((await t.api('GET', '/apps/shop/addon-attachments')).body as { id: string; name: string }[]).find((x) => x.name === 'REDIS')!;
  const refused = await t.api('DELETE', `/addon-attachments/${last.id}`);
  assert.equal(refused.status, 422);
  assert.match(refused.body.message, /last attachment.*addons:destroy/);
});

test('when a tenant tries what a Redis add-on turns off, then CONFIG, REPLICAOF and MIGRATE are refused, and nothing works without the password', async () => {
  for (const args of ['config,get,dir', 'replicaof,127.0.0.1,6379', 'migrate,127.0.0.1,6379,k,0,1000', 'debug,sleep,0']) {
    assert.match((await call('shop', 'GET', `/redis-call?args=${args}`)).body, /^refused: ERR unknown command/, args);
  }
  assert.equal((await call('shop', 'GET', '/redis-call?args=get,k')).body, 'kept');
  assert.match((await call('shop', 'GET', '/redis-noauth')).body, /^refused: NOAUTH/);
});

test('when the credentials are rotated, then the old password stops working and the app restarts with the new URL', async () => {
  const old = (await config('shop')).DATABASE_URL;
  const v = (await currentVersion('shop'))!;
  const rotated = await t.api('POST', `/postgres/v0/databases/${pgAddon.name}/credentials_rotation`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const now = (await config('shop')).DATABASE_URL;
  assert.notEqual(now, old);
  assert.equal(new URL(now).username, new URL(old).username);
  const tryLogin = async (url: string) => (await call('shop', 'GET', `/login?url=${encodeURIComponent(url)}`)).body;
  assert.match(await tryLogin(old), /^refused: password authentication failed/);
  assert.equal(await tryLogin(now), 'connected');
  // As on Heroku, the old password stops at once: the app's dynos of the release before fail until the new release's
  // take over (the routers may still send a request or two to the old ones while they drain).
  await deployed('shop', v + 1);
  await waitFor('the app to work with the new URL', async () => (await call('shop', 'GET', '/rows')).body === '["first"]', 15_000, 200).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await t.releasesReport('shop')}`);
  });
});

test('when pg:info is asked, then it shows the plan, the connections and the data size', async () => {
  const info = await t.api('GET', `/client/v11/databases/${pgAddon.id}`);
  assert.equal(info.status, 200, JSON.stringify(info.body));
  const byName = Object.fromEntries(info.body.info.map((i: { name: string; values: string[] }) => [i.name, i.values.join(', ')]));
  assert.equal(byName.Plan, 'essential-0');
  assert.equal(byName.Status, 'Available');
  assert.match(byName.Connections, /^\d+\/20$/);
  assert.match(byName['Data Size'], /MB \/ 1\.0 GB/);
  assert.equal(byName.Tables, '2', 'items, and the migrations table of the release phase');
});

const transfer = async (app: string, num: number) => (await t.api('GET', `/client/v11/apps/${app}/transfers/${num}`)).body;
const finished = (app: string, num: number) => waitFor(`${app}'s transfer ${num}`, async () => {
  const x = await transfer(app, num);
  return x.status !== 'running' && x;
}, 60_000, 200);

test('when a backup is captured, the table dropped and the backup restored, then the row is back; the backup downloads, once by its URL', async () => {
  const cap = await t.api('POST', `/client/v11/databases/${pgAddon.id}/backups`);
  assert.equal(cap.status, 201, JSON.stringify(cap.body));
  assert.equal(cap.body.name, 'b001');
  const backup = await finished('shop', cap.body.num);
  assert.equal(backup.status, 'succeeded', backup.error);
  assert.ok(backup.source_bytes > 0);

  assert.equal((await call('shop', 'POST', '/drop')).body, 'dropped');
  assert.equal((await call('shop', 'GET', '/rows')).body, '[]');
  const restore = await t.api('POST', `/client/v11/databases/${pgAddon.id}/restores`, { backup_url: backup.to_url });
  assert.equal(restore.status, 201, JSON.stringify(restore.body));
  const restored = await finished('shop', restore.body.num);
  assert.equal(restored.status, 'succeeded', restored.error);
  assert.equal(restored.name, 'r002');
  assert.equal((await call('shop', 'GET', '/rows')).body, '["first"]');

  const listed = (await t.api('GET', '/client/v11/apps/shop/transfers')).body as { name: string; status: string }[];
  assert.deepEqual(listed.map((x) => `${x.name} ${x.status}`), ['b001 succeeded', 'r002 succeeded']);
  const file = await fetch(`${t.url}/client/v11/apps/shop/transfers/1/download`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.equal(file.status, 200);
  assert.equal(Buffer.from(await file.arrayBuffer()).subarray(0, 5).toString(), 'PGDMP', 'pg_dump\'s custom format');
  const signed = new URL((await t.api('POST', '/client/v11/apps/shop/transfers/1/actions/public-url')).body.url);
  const url = t.url + signed.pathname + signed.search; // the test API listens on its own port, not SLIPWAY_PUBLIC_URL's
  assert.equal((await fetch(url)).status, 200);
  assert.equal((await fetch(url)).status, 404, 'the URL works once');
  assert.equal((await t.api('POST', `/client/v11/databases/${pgAddon.id}/restores`, { backup_url: 'slipway://backups/00000000-0000-0000-0000-000000000000' })).status, 404);
});

test('when a backup cannot be taken, then it is listed as failed with the reason', async () => {
  const other = ((await t.api('GET', '/apps/other/addons')).body as { id: string; provider_id: string }[])[0];
  await t.platform.services.addons.servers.postgres!.drop(other.provider_id);
  const cap = await t.api('POST', `/client/v11/databases/${other.id}/backups`);
  assert.equal(cap.status, 201);
  const failed = await finished('other', cap.body.num);
  assert.equal(failed.status, 'failed');
  // pg_dump runs as the tenant's role, which went with its database.
  assert.match(failed.error, /pg_dump failed: .*(does not exist|password authentication failed)/);
});

test('when a backup schedule is set, then the worker takes one a day after its time and keeps the last N', async () => {
  assert.equal((await t.api('POST', `/client/v11/databases/${pgAddon.id}/transfer-schedules`, { hour: '02:00', timezone: 'Mars/Olympus' })).status, 422);
  assert.equal((await t.api('POST', `/client/v11/databases/${pgAddon.id}/transfer-schedules`, { hour: '25:00' })).status, 422);
  const set = await t.api('POST', `/client/v11/databases/${pgAddon.id}/transfer-schedules`, { hour: '00:00', timezone: 'UTC', retain: 1 });
  assert.equal(set.status, 201, JSON.stringify(set.body));
  assert.equal(set.body.at, '00:00 UTC');
  const scheduled = async () => ((await t.api('GET', '/client/v11/apps/shop/transfers')).body as { name: string; status: string }[]).filter((x) => x.name.startsWith('a'));
  // The worker looks every 30 s: today's run is due (00:00 UTC has passed).
  const first = await waitFor('the scheduled backup', async () => { const a = await scheduled(); return a.length === 1 && a[0].status === 'succeeded' && a; }, 60_000, 500);
  const scheduler = createBackupScheduler({ store: t.platform.services.backupStore, addons: t.platform.services.addonStore, backups: t.platform.services.backups, log: createLogger('test', 'warn') });
  assert.equal(await scheduler.runDue(), 0, 'once a day');
  assert.equal(await scheduler.runDue(new Date(Date.now() + 86_400_000)), 1, 'the next day');
  const kept = await scheduled();
  assert.equal(kept.length, 1, 'retain 1: the older scheduled backup is removed');
  assert.notEqual(kept[0].name, first[0].name);
  assert.equal((await t.api('DELETE', `/client/v11/databases/${pgAddon.id}/transfer-schedules/${pgAddon.id}`)).status, 200);
});

test('when the add-on is destroyed, then its config var goes and its database is dropped', async () => {
  const v = (await currentVersion('shop'))!;
  const resource = (await t.platform.db.query<{ resource: string }>('SELECT resource FROM addons WHERE id = $1', [pgAddon.id])).rows[0].resource;
  const server = t.platform.services.addons.servers.postgres!;
  assert.equal(await server.exists(resource), true);
  const gone = await t.api('DELETE', `/apps/shop/addons/${pgAddon.name}`);
  assert.equal(gone.status, 200, JSON.stringify(gone.body));
  assert.equal(gone.body.state, 'deprovisioned');
  assert.equal((await config('shop')).DATABASE_URL, undefined);
  await deployed('shop', v + 1);
  assert.equal((await t.api('GET', `/addons/${pgAddon.id}`)).status, 404);
  assert.equal(await server.exists(resource), false, 'the database is dropped');
  assert.equal((await call('shop', 'GET', '/key')).body, 'kept', 'the Redis add-on is untouched');
});
