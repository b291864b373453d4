/**
 * A database over its plan's storage is read-only until it is back under (Heroku's rule; before, the tenant was only
 * warned), against a hostile tenant: every way to write fails, SECURITY DEFINER functions, large objects and the
 * database's own settings (role, search_path, default_transaction_read_only, which an admin session opened there
 * would take) included; DELETE and TRUNCATE work; made writable again, the tenant owns everything as before.
 *
 * The storage watch's decision (over the plan: read-only; back under: writable) is in test/unit/addons.test.ts,
 * whose fake server stands in for a gigabyte written; here the real server makes the change, the watch kept out of
 * the way (SLIPWAY_ADDON_WATCH_INTERVAL an hour: it would make the small database writable again). Two changes at
 * once (the watch's and an operator's) are serialized, each doing only what is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { asTenant, makeTenant, type Tenant } from '../helpers/addon-tenants.js';

let t: TestPlatform;
let b: Tenant;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_ADDON_WATCH_INTERVAL: '3600' }, { addons: true });
  b = await makeTenant(t, 'tenant-ro');
});
after(async () => t?.close());

test('when a database is over its plan, then it is read-only against every way the tenant writes, deletes still work, and it is writable again once back under', async () => {
  const server = t.platform.services.addons.servers.postgres!;
  await asTenant(b, async (c) => {
    await c.query('CREATE SCHEMA own');
    await c.query('CREATE TABLE own.kept (n int)');
    await c.query('CREATE TABLE public.gone (n int)');
    await c.query('INSERT INTO own.kept SELECT generate_series(1, 10)');
    await c.query('INSERT INTO public.gone VALUES (1)');
    await c.query('CREATE SEQUENCE own.ids');
    await c.query(`CREATE FUNCTION own.sneak() RETURNS void LANGUAGE sql SECURITY DEFINER AS 'INSERT INTO own.kept VALUES (99)'`);
    // Settings a database's owner may give it, which an admin session opened there would take.
    await c.query(`ALTER DATABASE ${b.role} SET role = '${b.role}'`);
    await c.query(`ALTER DATABASE ${b.role} SET default_transaction_read_only = on`);
    await c.query(`ALTER DATABASE ${b.role} SET search_path = own, public`);
  });
  await server.setReadOnly(b.role, true);
  assert.equal((await server.usage(b.role)).readOnly, true);
  const info = await t.api('GET', `/client/v11/databases/${b.addonId}`);
  assert.equal(info.status, 200);
  const wrote: string[] = [];
  await asTenant(b, async (c) => {
    await c.query('SET default_transaction_read_only = off'); // the tenant's own setting is no barrier: the grants are
    assert.equal((await c.query('SELECT count(*)::int AS n FROM own.kept')).rows[0].n, 10, 'reads work');
    for (const q of ['INSERT INTO own.kept VALUES (1)', 'UPDATE own.kept SET n = 0', 'CREATE TABLE public.more (n int)', 'CREATE SCHEMA other',
      'CREATE TEMP TABLE t (n int)', "SELECT nextval('own.ids')", 'SELECT own.sneak()', 'ALTER TABLE own.kept ADD COLUMN m int',
      `GRANT INSERT ON own.kept TO ${b.role}; INSERT INTO own.kept VALUES (2)`, `ALTER DATABASE ${b.role} RESET search_path`, `SET ROLE ${b.role}_owner`, 'DROP TABLE public.gone',
      `COPY own.kept FROM PROGRAM 'echo 1'`, `CREATE INDEX ON own.kept (n)`, 'SELECT lo_create(0)', `CREATE VIEW public.v AS SELECT 1`]) {
      const r = await c.query(q).then(() => 'succeeded', (e: Error) => e.message);
      if (r === 'succeeded') wrote.push(q);
    }
    await c.query('DELETE FROM own.kept WHERE n > 5');
    await c.query('TRUNCATE public.gone');
  });
  assert.deepEqual(wrote, [], 'every write fails while read-only');
  await server.setReadOnly(b.role, false);
  assert.equal((await server.usage(b.role)).readOnly, false);
  await asTenant(b, async (c) => {
    await c.query('SET default_transaction_read_only = off');
    await c.query('SELECT own.sneak()');
    await c.query('CREATE TABLE public.more (n int)');
    await c.query('SELECT lo_unlink(lo_create(0))');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM own.kept')).rows[0].n, 6, 'what was deleted stays deleted; the definer function writes again');
    const owners = await c.query<{ o: string }>(`SELECT DISTINCT pg_catalog.pg_get_userbyid(relowner) AS o FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname IN ('own', 'public')`);
    assert.deepEqual(owners.rows.map((r) => r.o), [b.role], 'the tenant owns its tables again');
    const db = await c.query<{ o: string }>('SELECT pg_catalog.pg_get_userbyid(datdba) AS o FROM pg_catalog.pg_database WHERE datname = current_database()');
    assert.equal(db.rows[0].o, b.role);
    await c.query(`ALTER DATABASE ${b.role} RESET ALL`);
  });
});

test('when the database is made read-only and writable again twice at once, then it ends as asked, the tenant owning its tables', async () => {
  const server = t.platform.services.addons.servers.postgres!;
  await Promise.all([server.setReadOnly(b.role, true), server.setReadOnly(b.role, true)]);
  assert.equal((await server.usage(b.role)).readOnly, true);
  await Promise.all([server.setReadOnly(b.role, false), server.setReadOnly(b.role, false)]);
  assert.equal((await server.usage(b.role)).readOnly, false);
  await asTenant(b, async (c) => {
    await c.query('INSERT INTO own.kept VALUES (7)');
    await c.query('SELECT own.sneak()');
  });
});
