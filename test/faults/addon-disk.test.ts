/**
 * The add-on servers' disk filling up. Their data is on a filesystem of its own (SLIPWAY_ADDON_DISK_MB=320 here:
 * DATA/addons.img, a 320 MB ext4 image the add-on host makes and loop-mounts at DATA/addons), filled by a file of
 * the test's:
 * - pg:info says the add-on server's disk is full, and every attached app's log gets a line saying so;
 * - a write that does not fit fails (the server refuses it or restarts; it never takes half of it);
 * - once space is freed, both say so again, the rows written before are all there, the table and its index pass
 *   amcheck's checks, and writes work again;
 * - the platform's own disk is another filesystem all along, and the add-on host unmounts its own when it stops.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { tailLog } from '../../server/logs/app-log.js';
import { embeddedAddonPostgresUrl } from '../../server/addons/servers.js';

const run = promisify(execFile);
const MB = 2 ** 20;
let t: TestPlatform;
let mountDir: string;

before(async () => {
  t = await startTestPlatform({ SLIPWAY_ADDON_WATCH_INTERVAL: '0.5', SLIPWAY_ADDON_DISK_RESERVE_MB: '48', SLIPWAY_ADDON_DISK_MB: '320' }, { addons: true });
  mountDir = join(t.platform.config.dataDir, 'addons');
});
after(async () => {
  await t?.close();
});

/** The platform's own role into the add-on's database, over the add-on server's admin socket. */
async function asAdmin<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: embeddedAddonPostgresUrl(t.platform.config).replace('/slipway?', `/${database}?`) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const filler = () => join(mountDir, 'filler');
const appLog = async () => (await tailLog(t.platform.redis, t.platform.config.redisPrefix, appId, 200)).filter((e) => e.dyno === 'heroku-postgres').map((e) => `${e.source}[${e.dyno}]: ${e.line}`);
const info = async () => (await t.api('GET', `/client/v11/databases/${addon}`)).body as { disk_full: boolean; info: { name: string; values: string[] }[] };
let appId: string;
let addon: string;
let database: string;

const mountedAt = async (dir: string) => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === dir);

test('the add-on servers\' data is on a filesystem of its own, apart from the platform\'s', async () => {
  assert.ok(await mountedAt(mountDir), `${mountDir} is a mount point`);
  const [own, platform] = [await stat(mountDir), await stat(t.platform.config.dataDir)];
  assert.notEqual(own.dev, platform.dev);
  const s = await statfs(mountDir);
  assert.ok(s.blocks * s.bsize <= 320 * MB && s.blocks * s.bsize > 280 * MB, `the add-on filesystem is ${s.blocks * s.bsize} bytes`);
  assert.equal((await stat(join(t.platform.config.dataDir, 'addons.img'))).size, 320 * MB);
  assert.ok((await stat(join(mountDir, 'postgres', 'data', 'PG_VERSION'))).isFile());
});

test('when the add-on server\'s disk fills up, then pg:info and the app\'s log say so, and a write that does not fit fails whole', async () => {
  await t.createApp('ledger');
  appId = (await t.api('GET', '/apps/ledger')).body.id;
  const made = await t.api('POST', '/apps/ledger/addons', { plan: 'postgresql' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  addon = made.body.name;
  database = new URL((await t.api('GET', '/apps/ledger/config-vars')).body.DATABASE_URL).pathname.slice(1);
  await asAdmin(database, async (c) => {
    await c.query('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
    await c.query(`INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 1000) g`);
    await c.query('CHECKPOINT');
  });
  assert.equal((await info()).disk_full, false);

  const s = await statfs(mountDir);
  await run('fallocate', ['-l', String(s.bavail * s.bsize - 16 * MB), filler()]);
  const full = await waitFor('pg:info to say the disk is full', async () => { const i = await info(); return i.disk_full && i; }, 15_000, 200);
  assert.ok(full.info.some((r) => r.name === 'Warning' && /the add-on server's disk is full \(.* free of .*\): writes to this database fail until space is freed/.test(r.values[0])), JSON.stringify(full.info));
  await waitFor('the line in the app\'s log', async () => (await appLog()).some((l) => /^app\[heroku-postgres\]: source=DATABASE addon=postgresql-[a-z]+-\d+ Error: the add-on server's disk is full/.test(l)), 15_000, 200);

  // 40 MB that does not compress, in one statement: more than is left.
  const big = asAdmin(database, (c) => c.query(`INSERT INTO items SELECT 100000 + g, (SELECT string_agg(md5(random()::text || x || g), '') FROM generate_series(1, 32000) x) FROM generate_series(1, 40) g`));
  await assert.rejects(big, (e: Error & { code?: string }) => {
    assert.ok(e.code === '53100' || /No space left on device|terminat|connection/i.test(e.message), `${e.code}: ${e.message}`);
    return true;
  });
});

test('when space is freed, then both say so, the rows written before are whole, and writes work again', async () => {
  await rm(filler());
  await waitFor('pg:info to say the disk has space', async () => !(await info()).disk_full, 15_000, 200);
  await waitFor('the line in the app\'s log', async () => (await appLog()).some((l) => /source=DATABASE addon=\S+ the add-on server's disk has space again \(.* free\): writes work again/.test(l)), 15_000, 200);
  // The server may have restarted (a WAL write that found no space is a PANIC): the add-on host started it again.
  const rows = await waitFor('the database to answer', () => asAdmin(database, async (c) => (await c.query('SELECT count(*)::int AS n, sum(id)::bigint AS s FROM items WHERE id <= 1000')).rows[0]).catch(() => undefined), 60_000, 500);
  assert.deepEqual(rows, { n: 1000, s: 500500 });
  await asAdmin(database, async (c) => {
    assert.equal((await c.query('SELECT count(*)::int AS n FROM items WHERE id > 1000')).rows[0].n, 0, 'nothing of the write that failed');
    await c.query('CREATE EXTENSION IF NOT EXISTS amcheck');
    assert.deepEqual((await c.query(`SELECT * FROM verify_heapam('items')`)).rows, [], 'the table is sound');
    await c.query(`SELECT bt_index_check('items_pkey'::regclass, true)`); // throws on a corrupt index or a row it lacks
    await c.query(`INSERT INTO items VALUES (1001, 'after')`);
    assert.equal((await c.query('SELECT v FROM items WHERE id = 1001')).rows[0].v, 'after');
  });
});

test('when the add-on host stops, then it unmounts the filesystem it mounted', async () => {
  await t.addonHost!.stop();
  assert.equal(await mountedAt(mountDir), false);
});
