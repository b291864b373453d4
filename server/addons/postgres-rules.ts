/**
 * The rules that keep a tenant of a PostgreSQL add-on server inside its own database, as the admin applies them:
 * what a tenant role is (it cannot climb: no superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, no predefined
 * role that reads or writes server files or runs programs), what its plan sets on it that the tenant cannot change
 * (the connection limit, temp_file_limit, a superuser-only setting), and what the server must look like before any
 * database is made on it (PUBLIC kept out of `postgres` and `template1`, no CREATE on their public schemas, no
 * extension that reaches outside the database — dblink, the foreign-data wrappers — installable by a tenant).
 *
 * Every statement here runs on the admin's own databases (`postgres`, `template1`), never inside a tenant's: a
 * tenant owns its database and can set its search_path and put views and functions in front of the catalogue
 * (CVE-2018-1058's pattern), so an admin session there would run the tenant's code as the admin. The admin's
 * sessions pin search_path to pg_catalog anyway.
 */
import type pg from 'pg';
import type { PostgresPlan } from './plans.js';

/** A tenant role's (and database's) name, as made by newResourceName. */
export const TENANT_ROLE = /^d[0-9a-f]{20}$/;
const TENANT_ROLE_SQL = '^d[0-9a-f]{20}$';

/**
 * What no tenant role may have. It inherits (its rights on its database's public schema come through
 * pg_database_owner); memberships it should not have are revoked by checkServer.
 */
export const TENANT_ROLE_ATTRIBUTES = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';

/** Predefined roles that reach the server's files or programs, or other sessions. */
const DANGEROUS_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_signal_backend', 'pg_read_all_data', 'pg_write_all_data'];

/** Extensions that reach outside the database they are made in (other databases, files, programs, the network). */
export const OUTSIDE_EXTENSIONS = ['dblink', 'postgres_fdw', 'file_fdw', 'adminpack'];

/** The admin's own databases: tenants may neither open them nor create in them. */
export const ADMIN_DATABASES = ['postgres', 'template1'];

/** Session settings of a tenant role, by plan. temp_file_limit is superuser-only: the tenant cannot raise it. */
export function roleSettings(plan: PostgresPlan): Record<string, string> {
  return {
    temp_file_limit: `${Math.floor(plan.tempFileBytes / 1024)}kB`,
    statement_timeout: `${plan.statementTimeoutSeconds}s`,
    idle_in_transaction_session_timeout: '600s',
  };
}

/** ALTER ROLE statements that give a tenant role its plan: connection limit and settings. */
export function planStatements(role: string, plan: PostgresPlan): string[] {
  return [
    `ALTER ROLE ${role} CONNECTION LIMIT ${plan.connections}`,
    ...Object.entries(roleSettings(plan)).map(([k, v]) => `ALTER ROLE ${role} SET ${k} = '${v}'`),
  ];
}

/** The statements that make the server safe to put tenants on; each is idempotent. Run on `postgres`. */
export function hardenStatements(): string[] {
  return ADMIN_DATABASES.map((d) => `REVOKE CONNECT, TEMPORARY, CREATE ON DATABASE ${d} FROM PUBLIC`);
}

/** Run on each admin database: nobody but the admin creates in its public schema. */
export const REVOKE_PUBLIC_SCHEMA = 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';

export interface ServerCheck {
  /** What still falls short, each a sentence for the operator (none: tenants may be put on the server). */
  problems: string[];
  /** What was wrong and has been put right (a tenant role that had climbed). */
  fixed: string[];
}

/** The server checked as the admin on `postgres`: tenant roles that have climbed are put back; the rest is reported. */
export async function checkServer(c: pg.Client): Promise<ServerCheck> {
  const problems: string[] = [];
  const fixed: string[] = [];
  const me = await c.query<{ super: boolean }>('SELECT rolsuper AS super FROM pg_catalog.pg_roles WHERE rolname = current_user');
  if (!me.rows[0]?.super) problems.push('the admin role is not a superuser: it cannot set temp_file_limit on tenant roles');
  const open = await c.query<{ datname: string; privilege_type: string }>(
    `SELECT d.datname, a.privilege_type FROM pg_catalog.pg_database d,
       pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
     WHERE d.datname = ANY($1::text[]) AND a.grantee = 0 AND a.privilege_type IN ('CONNECT', 'CREATE', 'TEMPORARY')`, [ADMIN_DATABASES]);
  for (const r of open.rows) problems.push(`PUBLIC still has ${r.privilege_type} on the database ${r.datname}`);
  const trusted = await c.query<{ name: string }>(
    'SELECT DISTINCT name FROM pg_catalog.pg_available_extension_versions WHERE trusted AND name = ANY($1::text[])', [OUTSIDE_EXTENSIONS]);
  for (const r of trusted.rows) problems.push(`the extension ${r.name} is marked trusted: any tenant could create it`);
  const climbed = await c.query<{ rolname: string }>(
    `SELECT rolname FROM pg_catalog.pg_roles WHERE rolname ~ $1 AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)`, [TENANT_ROLE_SQL]);
  for (const r of climbed.rows) {
    if (!TENANT_ROLE.test(r.rolname)) continue;
    await c.query(`ALTER ROLE ${r.rolname} ${TENANT_ROLE_ATTRIBUTES}`);
    fixed.push(`the tenant role ${r.rolname} had climbed (superuser or another attribute): put back`);
  }
  const members = await c.query<{ member: string; role: string }>(
    `SELECT m.rolname AS member, r.rolname AS role FROM pg_catalog.pg_auth_members am
       JOIN pg_catalog.pg_roles r ON r.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member
     WHERE m.rolname ~ $1`, [TENANT_ROLE_SQL]);
  for (const r of members.rows) {
    if (!TENANT_ROLE.test(r.member) || !/^[a-z_][a-z0-9_]*$/.test(r.role)) continue;
    await c.query(`REVOKE ${r.role} FROM ${r.member}`);
    const why = DANGEROUS_ROLES.includes(r.role) ? ' (it reaches the server)' : '';
    fixed.push(`the tenant role ${r.member} was a member of ${r.role}${why}: revoked`);
  }
  return { problems, fixed };
}
