/**
 * Faults of the add-on servers, with an app (npm `pg` and `ioredis`) writing through them. Each states the outcome:
 * - The add-on PostgreSQL killed with SIGKILL: the add-on host starts it again on the same address; the row is
 *   there and the app's next queries work (its pool reconnects).
 * - A Redis add-on killed with SIGKILL: started again with its AOF; the key is there, the app reconnects.
 * - The platform's add-on host stopped and started (a platform restart): every add-on comes back with its data.
 * - The app destroyed: its add-ons go with it: the database and role dropped, the Redis server stopped and its
 *   directory removed, the backups deleted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { alive, waitFor } from '../helpers/procs.js';
import { startAddonHost, type AddonHost } from '../../server/addons/host.js';
import { createLogger } from '../../server/log.js';

let t: TestPlatform;
let host: AddonHost;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_BOOT_TIMEOUT: '30', SLIPWAY_STOP_GRACE: '2' }, { dynos: true, addons: true });
  host = t.addonHost!;
});
after(async () => {
  if (host !== t?.addonHost) await host?.stop();
  await t?.close();
});

const call = async (method: string, path: string) => (await requestWithHost(t.routerPort!, 'keeper.localhost', path, {}, method)).body;
const current = async () => ((await t.api('GET', '/apps/keeper/releases')).body as { version: number; current: boolean }[]).find((r) => r.current)?.version ?? 0;
let addons: { pg: { id: string; provider_id: string }; redis: { id: string; provider_id: string } };

test('given an app writing a row and a key through its add-ons', async () => {
  await t.createApp('keeper');
  const dir = await t.checkout('node-addons', 'keeper');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const v = await current();
  const pg = await t.api('POST', '/apps/keeper/addons', { plan: 'postgresql' });
  const redis = await t.api('POST', '/apps/keeper/addons', { plan: 'redis' });
  assert.equal(pg.status, 201);
  assert.equal(redis.status, 201);
  addons = { pg: pg.body, redis: redis.body };
  await waitFor('the release with both URLs', async () => (await current()) >= v + 2, 90_000, 200).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await t.releasesReport('keeper')}`);
  });
  assert.equal(await call('POST', '/rows?v=durable'), 'inserted');
  assert.equal(await call('POST', '/key?v=durable'), 'OK');
  await new Promise((r) => setTimeout(r, 1500)); // the AOF is written every second
});

test('when the add-on PostgreSQL is killed with SIGKILL, then it is started again, the row is there and the app reconnects', async () => {
  const before = host.pids().postgres!;
  process.kill(before, 'SIGKILL');
  await waitFor('a new add-on PostgreSQL', () => { const p = host.pids().postgres; return p !== undefined && p !== before; }, 60_000, 200);
  await waitFor('the app to read the row again', async () => (await call('GET', '/rows')) === '["durable"]', 30_000, 300);
});

test('when a Redis add-on is killed with SIGKILL, then it is started again from its AOF and the key is there', async () => {
  const before = host.pids().redis[addons.redis.id]!;
  assert.ok(before, 'the Redis add-on runs');
  process.kill(before, 'SIGKILL');
  await waitFor('a new Redis', () => { const p = host.pids().redis[addons.redis.id]; return p !== undefined && p !== before; }, 30_000, 200);
  await waitFor('the app to read the key again', async () => (await call('GET', '/key')) === 'durable', 30_000, 300);
});

test('when the add-on host is stopped and started again (a platform restart), then the add-ons come back with their data', async () => {
  const pids = host.pids();
  await host.stop();
  assert.equal(alive(pids.postgres!), false, 'the add-on PostgreSQL stopped');
  assert.equal(alive(pids.redis[addons.redis.id]!), false, 'the Redis add-on stopped');
  const config = t.platform.config;
  host = await startAddonHost({ config, db: t.platform.db, keys: t.platform.services.keys, log: createLogger('addons', 'warn') });
  assert.ok(host.pids().redis[addons.redis.id], 'the Redis add-on is started again');
  await waitFor('the app to read both again', async () => (await call('GET', '/rows')) === '["durable"]' && (await call('GET', '/key')) === 'durable', 60_000, 300);
});

test('when the app is destroyed, then its add-ons go with their data and backups', async () => {
  const cap = await t.api('POST', `/client/v11/databases/${addons.pg.id}/backups`);
  assert.equal(cap.status, 201);
  await waitFor('the backup', async () => (await t.api('GET', '/client/v11/apps/keeper/transfers/1')).body.status === 'succeeded', 60_000, 200);
  const backups = join(t.dataDir, 'addons', 'backups', addons.pg.id);
  assert.equal((await readdir(backups)).length, 1);
  const redisPid = host.pids().redis[addons.redis.id]!;
  const redisDir = join(t.dataDir, 'addons', 'redis', addons.redis.provider_id);
  assert.ok(await stat(redisDir));

  assert.equal((await t.api('DELETE', '/apps/keeper')).status, 200);
  assert.equal(await t.platform.services.addons.servers.postgres!.exists(addons.pg.provider_id), false, 'database dropped');
  assert.equal((await t.platform.db.query('SELECT 1 FROM addons')).rowCount, 0);
  await waitFor('the Redis server to stop', () => !alive(redisPid), 15_000, 200);
  await waitFor('its directory removed', async () => !(await stat(redisDir).then(() => true, () => false)), 15_000, 200);
  assert.equal(await stat(backups).then(() => true, () => false), false, 'backups removed');
});
