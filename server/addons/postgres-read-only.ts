/**
 * A database over its plan's storage is made read-only until it is back under (Heroku's rule), and this holds
 * against the tenant, not only with its consent: the tenant's role gives up ownership of everything in its database
 * to a keeper role the admin makes (`<role>_owner`, NOLOGIN), and is granted back only SELECT, DELETE and TRUNCATE
 * (the last two so it can get back under) and CONNECT on the database: no CREATE, no TEMPORARY, no new large
 * objects. Its functions are handed back to it, so a SECURITY DEFINER function runs as the read-only role, not as
 * the keeper. Made writable again, the keeper gives everything back and is dropped.
 *
 * These are the only admin statements that run inside a tenant's database. Its owner can set that database's
 * search_path, role and other user settings, so the session is opened with its own (-c options, which outrank the
 * database's) and checked to be the admin before anything runs; every name is the catalogue's, quoted by it. Nothing
 * here reads a tenant's table or calls a tenant's function.
 */
import type pg from 'pg';

export const keeperOf = (role: string) => `${role}_owner`;

/** The settings every admin session is opened with, whatever the database it opens says. */
export const ADMIN_SESSION_OPTIONS = '-c search_path=pg_catalog -c role=none -c default_transaction_read_only=off -c lock_timeout=10s';

const SCHEMAS = `SELECT pg_catalog.quote_ident(nspname) AS name FROM pg_catalog.pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_)'`;

/** The routines the keeper owns (after the reassignment), each as ALTER … OWNER TO can name it. */
const KEEPER_ROUTINES = `SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END AS kind,
    p.oid::pg_catalog.regprocedure::text AS name
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles o ON o.oid = p.proowner WHERE o.rolname = $1`;

/** Any role may make a large object (no privilege asked), so their makers are closed to PUBLIC while read-only. */
const LARGE_OBJECT_MAKERS = 'pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer), pg_catalog.lo_from_bytea(oid, bytea)';

async function mustBeAdmin(c: pg.Client): Promise<void> {
  const r = await c.query<{ ok: boolean }>('SELECT current_user = session_user AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS ok');
  if (!r.rows[0]?.ok) throw new Error('the admin session in a tenant database is not the admin');
}

/**
 * Inside the transaction: one change of a database's mode at a time (an advisory lock on the database), and whether
 * it is read-only now (its keeper owns it). Each change then does only what is left to do.
 */
async function lockMode(c: pg.Client, role: string): Promise<{ readOnly: boolean }> {
  await c.query('SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))', [`read-only:${role}`]);
  const r = await c.query<{ owner: string }>('SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()');
  return { readOnly: r.rows[0]?.owner === keeperOf(role) };
}

async function schemas(c: pg.Client): Promise<string[]> {
  return (await c.query<{ name: string }>(SCHEMAS)).rows.map((r) => r.name);
}

/** Inside the mode's transaction: the keeper role exists (roles are the cluster's; made under the mode's lock). */
async function ensureKeeper(c: pg.Client, role: string): Promise<void> {
  const has = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [keeperOf(role)]);
  if (!has.rowCount) await c.query(`CREATE ROLE ${keeperOf(role)} NOLOGIN NOINHERIT`);
}

/** Inside the tenant's database, as the admin: the role keeps reading and deleting, nothing more. */
export async function takeWrites(c: pg.Client, role: string): Promise<void> {
  await mustBeAdmin(c);
  const keeper = keeperOf(role);
  await c.query('BEGIN');
  if ((await lockMode(c, role)).readOnly) return void (await c.query('COMMIT'));
  await ensureKeeper(c, role);
  // Every object here and the database itself; the role's own grants on them (CONNECT, TEMPORARY, CREATE on the
  // database) go with the ownership to the keeper, so the role is given back CONNECT alone.
  await c.query(`REASSIGN OWNED BY ${role} TO ${keeper}`);
  await c.query(`GRANT CONNECT ON DATABASE ${role} TO ${role}`);
  await c.query(`REVOKE EXECUTE ON FUNCTION ${LARGE_OBJECT_MAKERS} FROM PUBLIC`);
  for (const s of await schemas(c)) {
    await c.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await c.query(`GRANT SELECT, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
    await c.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`);
  }
  const routines = await c.query<{ kind: string; name: string }>(KEEPER_ROUTINES, [keeper]);
  for (const r of routines.rows) await c.query(`ALTER ${r.kind} ${r.name} OWNER TO ${role}`);
  await c.query('COMMIT');
}

/** Inside the tenant's database, as the admin: everything back to the role, grants as they were. */
export async function giveWrites(c: pg.Client, role: string): Promise<void> {
  await mustBeAdmin(c);
  const keeper = keeperOf(role);
  await c.query('BEGIN');
  if (!(await lockMode(c, role)).readOnly) return void (await c.query('COMMIT'));
  for (const s of await schemas(c)) {
    await c.query(`REVOKE SELECT, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA ${s} FROM ${role}`);
    await c.query(`REVOKE SELECT ON ALL SEQUENCES IN SCHEMA ${s} FROM ${role}`);
    await c.query(`REVOKE USAGE ON SCHEMA ${s} FROM ${role}`);
  }
  await c.query(`REASSIGN OWNED BY ${keeper} TO ${role}`);
  await c.query(`GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${role} TO ${role}`);
  await c.query(`GRANT EXECUTE ON FUNCTION ${LARGE_OBJECT_MAKERS} TO PUBLIC`);
  await c.query(`DROP ROLE ${keeper}`); // it owns nothing now, here or anywhere
  await c.query('COMMIT');
}
