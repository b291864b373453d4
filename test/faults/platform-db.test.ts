/**
 * The platform's own embedded PostgreSQL asks every client for its password, socket included. Before, initdb's
 * `trust` let any process that reached the socket in as the superuser: a program run as the `postgres` OS user (the
 * add-on server's user of old, where a tenant's COPY … TO PROGRAM landed) read every app's config vars and tokens.
 * - A client without the password, as root and as the `postgres` OS user: refused.
 * - The URL the platform is given (password inside) works, again after a restart (the password is kept, 0600).
 * - A cluster made by an earlier version (trust, no password file) is given a password at its next start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres, type Embedded } from '../../server/embedded/postgres.js';
import { createLogger } from '../../server/log.js';
import { loadConfig } from '../../server/config.js';

const run = promisify(execFile);
const log = createLogger('test', 'error');
let root: string;
let dir: string;
let pgNow: Embedded | undefined;
const binDir = loadConfig({}).pgBinDir;

const start = () => startEmbeddedPostgres({ dir, binDir, asRoot: true, log });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'slipway-platform-db-'));
  await chmod(root, 0o711);
  dir = join(root, 'postgres');
});
after(async () => {
  await pgNow?.stop();
  await rm(root, { recursive: true, force: true });
});

async function query(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const withoutPassword = (url: string) => { const u = new URL(url); u.password = ''; return u.toString(); };

test('the platform cluster refuses a client without its password on its socket, as root and as the postgres OS user', async () => {
  pgNow = await start();
  assert.match(pgNow.url, /^postgresql:\/\/slipway:[0-9a-f]{64}@/);
  assert.equal(await query(pgNow.url), 'slipway');
  await assert.rejects(query(withoutPassword(pgNow.url)), /password authentication failed|no password was provided|client password must be a string/);
  const socketDir = join(dir, 'run');
  const asPostgres = await run('runuser', ['-u', 'postgres', '--', 'psql', '-h', socketDir, '-U', 'slipway', '-d', 'slipway', '-w', '-Atc', 'SELECT 1'])
    .then((r) => ({ ok: true, out: r.stdout }), (e: { stderr: string }) => ({ ok: false, out: e.stderr }));
  assert.equal(asPostgres.ok, false, 'the postgres OS user got in without a password');
  assert.match(asPostgres.out, /password/);
  const kept = await stat(join(dir, 'password'));
  assert.equal(kept.mode & 0o777, 0o600);
  assert.equal(kept.uid, 0);
  assert.equal(await readFile(join(dir, 'data', 'pg_hba.conf'), 'utf8'), 'local all all scram-sha-256\n');
});

test('the password is kept across a restart; a cluster left with trust by an earlier version gets one', async () => {
  const first = pgNow!.url;
  await pgNow!.stop();
  pgNow = await start();
  assert.equal(pgNow.url, first);
  assert.equal(await query(pgNow.url), 'slipway');
  await pgNow.stop();
  // As an earlier version left it: no password file, initdb's trust.
  await rm(join(dir, 'password'));
  pgNow = await start();
  assert.notEqual(pgNow.url, first);
  assert.equal(await query(pgNow.url), 'slipway');
  await assert.rejects(query(first), /password authentication failed/);
  await assert.rejects(query(withoutPassword(pgNow.url)), /password|client password/);
});
