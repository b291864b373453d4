/**
 * A hostile tenant of the add-on PostgreSQL, with its own DATABASE_URL (the tests connect as the tenant from the
 * host, as its dynos would). Each attack worked before the add-on server was hardened; each states what holds now:
 * - A view named pg_tables (and pg_class, pg_stat_activity) in a schema put first on the database's search_path,
 *   calling the tenant's function: pg:info and the storage watch run none of it as the admin (before: the admin ran
 *   it, `who = slipway`).
 * - A backup whose CHECK constraint's function runs RESET ROLE and ALTER ROLE … SUPERUSER while rows load: the
 *   restore runs as the tenant, the row is restored, the role stays an ordinary one (before: it became superuser).
 * - The escalations a tenant tries with SQL (RDS's master user is the bar): each fails.
 * - A tenant holding every connection its plan allows: the next is refused, a neighbour still connects; a plan
 *   above the free tier is an administrator's to make; plans that would not fit beside the others' are refused.
 * - temp_file_limit set on the role: the tenant cannot raise it, and a query spilling past it fails.
 * - Backups: one transfer of a database at a time, at most 10 taken by hand kept.
 * - The add-on PostgreSQL runs as an OS user of its own, not `postgres`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { asTenant, connect, makeTenant, type Tenant } from '../helpers/addon-tenants.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_ADDON_WATCH_INTERVAL: '1', SLIPWAY_MAX_ADDONS_PER_APP: '4', SLIPWAY_MAX_ADDONS_PER_USER: '3' }, { addons: true });
});
after(async () => {
  for (const c of held.splice(0)) await c.end().catch(() => undefined);
  await t?.close();
});

const held: pg.Client[] = [];

const tenant = (app: string) => makeTenant(t, app);

let a: Tenant;
let b: Tenant;

test('given two tenants, each with a PostgreSQL add-on', async () => {
  a = await tenant('tenant-a');
  b = await tenant('tenant-b');
  assert.notEqual(a.role, b.role);
});

test('when a tenant puts views named like the catalogue first on its search_path, then pg:info and the storage watch run none of its code as the admin', async () => {
  await asTenant(a, async (c) => {
    await c.query('CREATE SCHEMA trap');
    await c.query('CREATE TABLE trap.seen (who text NOT NULL)');
    await c.query(`CREATE FUNCTION trap.spy() RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO trap.seen VALUES (current_user); RETURN true; END $$`);
    for (const v of ['pg_tables', 'pg_class', 'pg_stat_activity', 'pg_database', 'pg_namespace']) {
      await c.query(`CREATE VIEW trap.${v} AS SELECT * FROM pg_catalog.${v} WHERE trap.spy()`);
    }
    await c.query(`ALTER DATABASE ${a.role} SET search_path = trap, pg_catalog, public`);
  });
  const info = await t.api('GET', `/client/v11/databases/${a.addonId}`);
  assert.equal(info.status, 200);
  assert.equal(info.body.num_tables, 1, 'the tenant\'s one table (trap.seen), counted as the tenant');
  await new Promise((r) => setTimeout(r, 2500)); // two rounds of the storage watch (SLIPWAY_ADDON_WATCH_INTERVAL=1)
  const seen = await asTenant(a, async (c) => (await c.query<{ who: string }>('SELECT DISTINCT who FROM trap.seen')).rows.map((r) => r.who));
  assert.deepEqual(seen.filter((w) => w !== a.role), [], `only the tenant itself ever ran its function (ran as: ${seen.join(', ') || 'nobody'})`);
});

test('when a tenant restores a backup whose CHECK function runs RESET ROLE and ALTER ROLE SUPERUSER, then the restore runs as the tenant and the role stays ordinary', async () => {
  await asTenant(a, async (c) => {
    await c.query(`CREATE FUNCTION public.climb(n int) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        EXECUTE 'RESET ROLE';
        BEGIN EXECUTE 'ALTER ROLE ${a.role} SUPERUSER'; EXCEPTION WHEN insufficient_privilege THEN NULL; END;
        RETURN n > 0;
      END $$`);
    await c.query('CREATE TABLE public.guarded (n int CHECK (public.climb(n)))');
    await c.query('INSERT INTO public.guarded VALUES (42)');
  });
  const cap = await t.api('POST', `/client/v11/databases/${a.addonId}/backups`);
  assert.equal(cap.status, 201, JSON.stringify(cap.body));
  const transfer = async (num: number) => (await t.api('GET', `/client/v11/apps/${a.app}/transfers/${num}`)).body;
  await waitFor('the backup', async () => (await transfer(cap.body.num)).status !== 'running', 60_000, 200);
  assert.equal((await transfer(cap.body.num)).status, 'succeeded', JSON.stringify(await transfer(cap.body.num)));

  const restore = await t.api('POST', `/client/v11/databases/${a.addonId}/restores`, { backup_url: cap.body.to_url });
  assert.equal(restore.status, 201, JSON.stringify(restore.body));
  await waitFor('the restore', async () => (await transfer(restore.body.num)).status !== 'running', 60_000, 200);
  assert.equal((await transfer(restore.body.num)).status, 'succeeded', JSON.stringify(await transfer(restore.body.num)));
  const after = await asTenant(a, async (c) => ({
    rows: (await c.query('SELECT n FROM public.guarded')).rows,
    super: (await c.query('SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user')).rows[0].rolsuper,
  }));
  assert.deepEqual(after.rows, [{ n: 42 }], 'the row is restored');
  assert.equal(after.super, false, 'the tenant role did not become superuser');
});

test('when a tenant tries to climb with SQL, then every attempt fails', async () => {
  const attempts: [string, string][] = [
    ['ALTER ROLE SUPERUSER', `ALTER ROLE ${a.role} SUPERUSER`],
    ['ALTER ROLE CREATEROLE', `ALTER ROLE ${a.role} CREATEROLE`],
    ['ALTER ROLE CONNECTION LIMIT', `ALTER ROLE ${a.role} CONNECTION LIMIT 1000`],
    ['GRANT pg_execute_server_program', `GRANT pg_execute_server_program TO ${a.role}`],
    ['GRANT pg_read_server_files', `GRANT pg_read_server_files TO ${a.role}`],
    ['COPY TO PROGRAM', `COPY (SELECT 1) TO PROGRAM 'id'`],
    ['COPY FROM a file', `CREATE TEMP TABLE f (l text); COPY f FROM '/etc/passwd'`],
    ['pg_read_file', `SELECT pg_read_file('/etc/passwd')`],
    ['pg_ls_dir', `SELECT pg_ls_dir('.')`],
    ['lo_import', `SELECT lo_import('/etc/passwd')`],
    ['CREATE EXTENSION dblink', 'CREATE EXTENSION dblink'],
    ['CREATE EXTENSION postgres_fdw', 'CREATE EXTENSION postgres_fdw'],
    ['CREATE EXTENSION file_fdw', 'CREATE EXTENSION file_fdw'],
    ['CREATE EXTENSION adminpack', 'CREATE EXTENSION adminpack'],
    ['CREATE LANGUAGE plpython3u', 'CREATE LANGUAGE plpython3u'],
    ['CREATE FUNCTION in C', `CREATE FUNCTION sys(cstring) RETURNS int AS 'libc.so.6', 'system' LANGUAGE C STRICT`],
    ['ALTER SYSTEM', `ALTER SYSTEM SET log_statement = 'none'`],
    ['SET ROLE to another tenant', `SET ROLE ${b.role}`],
    ['SET SESSION AUTHORIZATION', `SET SESSION AUTHORIZATION ${b.role}`],
    ['ALTER another tenant', `ALTER ROLE ${b.role} PASSWORD 'x1234567'`],
    ['CREATE ROLE', `CREATE ROLE sneaky LOGIN`],
    ['CREATE DATABASE', 'CREATE DATABASE sneaky'],
    ['raise temp_file_limit', 'SET temp_file_limit = -1'],
    ['reset its own temp_file_limit', `ALTER ROLE ${a.role} RESET temp_file_limit`],
    ['terminate another backend', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND usename <> current_user`],
    ['load a library', `LOAD 'plpython3u'`],
  ];
  const got: string[] = [];
  await asTenant(a, async (c) => {
    for (const [name, sql] of attempts) {
      const r = await c.query(sql).then((res) => res, (e: Error) => e);
      if (name === 'terminate another backend' && !(r instanceof Error)) {
        // pg_terminate_backend of another role's session returns an error per row; no row means nothing was ended.
        if ((r as pg.QueryResult).rows.some((row: Record<string, unknown>) => row.pg_terminate_backend === true)) got.push(`${name}: ended a session`);
        continue;
      }
      if (!(r instanceof Error)) got.push(`${name}: succeeded`);
    }
  });
  for (const database of [b.role, 'template1', 'postgres', 'slipway']) {
    const r = await connect(a.url, database).then(async (c) => { await c.end(); return 'connected'; }, (e: Error) => e.message);
    if (r === 'connected') got.push(`connect to ${database}: succeeded`);
  }
  assert.deepEqual(got, [], 'every escalation fails');
});

test('when a tenant holds every connection its plan allows, then its next one is refused and a neighbour still connects', async () => {
  for (let i = 0; i < 20; i++) held.push(await connect(a.url));
  const next = await connect(a.url).then(async (c) => { await c.end(); return 'connected'; }, (e: Error) => e.message);
  assert.match(next, /too many connections for role/);
  const started = Date.now();
  const n = await asTenant(b, async (c) => (await c.query('SELECT 1 AS n')).rows[0].n);
  assert.equal(n, 1);
  assert.ok(Date.now() - started < 2000, `the neighbour connected in ${Date.now() - started} ms`);
  const info = await t.api('GET', `/client/v11/databases/${a.addonId}`);
  assert.equal(info.body.num_connections, 20, 'pg:info still answers, read by the admin from postgres');
  for (const c of held.splice(0)) await c.end();
});

test('when a tenant spills to disk past its plan\'s temp_file_limit, then the query fails and the limit cannot be lifted', async () => {
  await asTenant(b, async (c) => {
    assert.equal((await c.query('SHOW temp_file_limit')).rows[0].temp_file_limit, '256MB');
    await assert.rejects(c.query('SET temp_file_limit = -1'), /permission denied/);
    await c.query(`SET work_mem = '64kB'`);
    await assert.rejects(c.query('SELECT count(*) FROM (SELECT g, md5(g::text) FROM generate_series(1, 6000000) g ORDER BY 2) s'), /temp_file_limit/);
  });
});

test('when a user asks for a plan above the free tier, then only an administrator may make it; plans that would not fit are refused', async () => {
  const u = await t.platform.services.users.create({ email: 'planner@example.com', password: 'planner-password' });
  const token = (await t.platform.services.users.createToken(u)).token;
  assert.equal((await t.api('POST', '/apps', { name: 'planner' }, token)).status, 201);
  const asked = await t.api('POST', '/apps/planner/addons', { plan: 'heroku-postgresql:standard-2' }, token);
  assert.equal(asked.status, 403);
  assert.match(asked.body.message, /above the free tier \(essential-0\): an administrator/);
  // 1000 connections on the embedded server, 3 reserved for superusers and 10 for the admin: two 400s fit, a third does not.
  await t.createApp('big');
  for (const app of ['tenant-a', 'tenant-b']) assert.equal((await t.api('POST', `/apps/${app}/addons`, { plan: 'heroku-postgresql:standard-2' })).status, 201);
  const third = await t.api('POST', '/apps/big/addons', { plan: 'heroku-postgresql:standard-2' });
  assert.equal(third.status, 507, JSON.stringify(third.body));
  assert.match(third.body.message, /connections left for a new plan; standard-2 needs 400/);
});

test('when one user\'s apps pile up add-ons, then past SLIPWAY_MAX_ADDONS_PER_USER the next is refused, across its apps; an administrator\'s are not counted', async () => {
  const u = await t.platform.services.users.create({ email: 'hoarder@example.com', password: 'hoarder-password' });
  const token = (await t.platform.services.users.createToken(u)).token;
  for (const app of ['hoard-1', 'hoard-2']) assert.equal((await t.api('POST', '/apps', { name: app }, token)).status, 201);
  for (const [app, plan] of [['hoard-1', 'postgresql'], ['hoard-1', 'redis'], ['hoard-2', 'redis']]) {
    const made = await t.api('POST', `/apps/${app}/addons`, { plan }, token);
    assert.equal(made.status, 201, JSON.stringify(made.body));
  }
  const fourth = await t.api('POST', '/apps/hoard-2/addons', { plan: 'postgresql' }, token);
  assert.equal(fourth.status, 422, JSON.stringify(fourth.body));
  assert.match(fourth.body.message, /The apps of hoarder@example\.com have 3 add-ons, the most one owner's apps may have \(SLIPWAY_MAX_ADDONS_PER_USER\)/);
  assert.ok((await t.api('GET', '/apps/tenant-a/addons')).body.length >= 2, 'the administrator\'s apps hold more than 3 in all, uncounted');
});

test('when a tenant piles up backups, then one transfer of a database runs at a time and at most 10 taken by hand are kept', async () => {
  const store = t.platform.services.backupStore;
  const app = (await t.api('GET', `/apps/${b.app}`)).body as { id: string };
  const running = await store.begin({ addon_id: b.addonId, app_id: app.id, kind: 'backup', from_name: 'DATABASE', scheduled: false });
  const second = await t.api('POST', `/client/v11/databases/${b.addonId}/backups`);
  assert.equal(second.status, 409, JSON.stringify(second.body));
  assert.match(second.body.message, /is running: wait for it to finish/);
  await store.finish(running.id, { error: 'a stand-in for a long capture, ended by the test' });
  const done = async (num: number) => (await t.api('GET', `/client/v11/apps/${b.app}/transfers/${num}`)).body.status !== 'running';
  for (let i = 0; i < 10; i++) {
    const cap = await t.api('POST', `/client/v11/databases/${b.addonId}/backups`);
    assert.equal(cap.status, 201, JSON.stringify(cap.body));
    await waitFor('the backup', () => done(cap.body.num), 30_000, 100);
  }
  const eleventh = await t.api('POST', `/client/v11/databases/${b.addonId}/backups`);
  assert.equal(eleventh.status, 422);
  assert.match(eleventh.body.message, /10 backups taken by hand, the most kept: delete one first/);
});

test('the add-on PostgreSQL runs as an OS user of its own, not the platform cluster\'s postgres', async () => {
  const pid = t.addonHost!.pids().postgres!;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
  const passwd = (await readFile('/etc/passwd', 'utf8')).split('\n').map((l) => l.split(':'));
  assert.equal(passwd.find((f) => Number(f[2]) === uid)?.[0], 'slipway-addon-pg');
});
