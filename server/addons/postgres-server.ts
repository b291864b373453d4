/**
 * What the platform does on a PostgreSQL add-on server, as its admin: one role and one database per add-on (the
 * same random name for both), the role an ordinary one that cannot climb (postgres-rules.ts) with its plan's
 * connection limit and settings, CONNECT revoked from PUBLIC so no other role may open the database. On the
 * embedded server the pg_hba.conf also lets a role log in from the dyno network only to the database of its own name
 * ("sameuser").
 *
 * The admin opens no session inside a tenant's database but to make it read-only and writable again
 * (postgres-read-only.ts, with the admin's own session settings, checked): sizes and connections are read from `postgres`
 * (pg_database_size, pg_stat_activity); what can only be seen inside (the tables) is read as the tenant's own role,
 * with the tenant's password, as are backups and restores (backups.ts). Before the first database is made, the
 * server is checked (checkServer): one that falls short gets no tenants.
 *
 * Names and passwords are made here (lowercase letters and digits) and checked again before they reach SQL, which
 * cannot take them as parameters. Error messages from here never hold a password.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresPlan } from './plans.js';
import { AppError, unavailable } from '../errors.js';
import { ADMIN_SESSION_OPTIONS, giveWrites, keeperOf, takeWrites } from './postgres-read-only.js';
import { ADMIN_DATABASES, checkServer, hardenStatements, planStatements, REVOKE_PUBLIC_SCHEMA, TENANT_ROLE_ATTRIBUTES, type ServerCheck } from './postgres-rules.js';

const RESOURCE = /^[a-z][a-z0-9]{11,62}$/;
const PASSWORD = /^[a-z0-9]{32,128}$/;

export interface PostgresUsage {
  sizeBytes: number;
  connections: number;
  serverVersion: string;
  /** Made read-only for being over its plan's storage (postgres-read-only.ts). */
  readOnly: boolean;
}

export interface PostgresAddonServer {
  /** Where dynos reach it. */
  host: string;
  port: number;
  /** The tenant's URL for the platform's own tools (backups, restores, table counts): its role, never the admin. */
  tenantUrl(resource: string, password: string): string;
  /** Makes the role and database; the first call checks the server (a server that falls short is a 503). */
  create(resource: string, password: string, plan: PostgresPlan): Promise<void>;
  /** A new password; the role's open connections are ended (as Heroku's rotation does). */
  setPassword(resource: string, password: string): Promise<void>;
  setPlan(resource: string, plan: PostgresPlan): Promise<void>;
  drop(resource: string): Promise<void>;
  /** Size, connections and version, read by the admin from `postgres` (never inside the tenant's database). */
  usage(resource: string): Promise<PostgresUsage>;
  /** The tenant's tables, counted by its own role. */
  tables(resource: string, password: string): Promise<number>;
  exists(resource: string): Promise<boolean>;
  /** Read-only (SELECT, DELETE, TRUNCATE) or writable again: a database over its plan's storage, and back under. */
  setReadOnly(resource: string, readOnly: boolean): Promise<void>;
  /** Applies the server-wide rules and checks them (what `slipway up` logs at start; create does it once too). */
  harden(): Promise<ServerCheck>;
}

export const newResourceName = () => `d${randomBytes(10).toString('hex')}`;
export const newPassword = () => randomBytes(24).toString('hex');

function checkResource(r: string): string {
  if (!RESOURCE.test(r)) throw new Error('not an add-on database name');
  return r;
}

function checkPassword(p: string): string {
  if (!PASSWORD.test(p)) throw new Error('not an add-on password');
  return p;
}

/** What went wrong on the add-on server, for the person who asked: unreachable (503), disk full (507), or else. */
function serverError(e: unknown): Error {
  const code = String((e as { code?: unknown }).code ?? '');
  const message = (e as Error).message;
  if (/^E[A-Z]+$/.test(code) || /timeout|terminat/i.test(message)) return new AppError('unavailable', `The PostgreSQL add-on server is not reachable (${code || message}); try again shortly.`, 503);
  if (code === '53100') return new AppError('insufficient_storage', `The PostgreSQL add-on server's disk is full: ${message}.`, 507);
  return new Error(`the PostgreSQL add-on server: ${message}`);
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Connections kept for the admin and the platform's own sessions beyond the superuser's reserved ones. */
const ADMIN_CONNECTIONS = 10;

/**
 * An add-on server reached as admin at adminUrl (a postgres:// URL, or the embedded one's socket URL). The platform
 * reaches the embedded one's tenants through its socket too (socketDir; its pg_hba lets a role in by password only
 * to the database of its name), an operator's at host:port.
 */
export function createPostgresAddonServer(o: { adminUrl: string; host: string; port: number; socketDir?: string }): PostgresAddonServer {
  /** An admin session (on one of the admin's own databases but to make one read-only), its settings its own. */
  async function admin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: withDatabase(o.adminUrl, database), connectionTimeoutMillis: 10_000, options: ADMIN_SESSION_OPTIONS });
    try {
      await client.connect();
      return await fn(client);
    } catch (e) {
      throw e instanceof AppError ? e : serverError(e);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const endConnections = (c: pg.Client, resource: string) =>
    c.query('SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()', [resource]);
  const tenantUrl = (resource: string, password: string) => {
    const r = checkResource(resource);
    const url = `postgres://${r}:${checkPassword(password)}@${o.host}:${o.port}/${r}`;
    return o.socketDir ? `${url.replace(`@${o.host}:`, '@localhost:')}?host=${encodeURIComponent(o.socketDir)}` : url;
  };

  async function harden(): Promise<ServerCheck> {
    return admin(async (c) => {
      for (const q of hardenStatements()) await c.query(q);
      for (const d of ADMIN_DATABASES) await admin((cd) => cd.query(REVOKE_PUBLIC_SCHEMA), d);
      return checkServer(c);
    });
  }
  let checked: Promise<ServerCheck> | undefined;
  /** The server is checked once before the first database is made on it (again after a failed check). */
  async function ensureChecked(): Promise<void> {
    checked ??= harden().catch((e) => { checked = undefined; throw e; });
    const { problems } = await checked;
    if (problems.length) throw unavailable(`The PostgreSQL add-on server is not safe for tenants: ${problems.join('; ')}. An operator must fix it.`);
  }

  /** A plan's connections must fit beside every other tenant's, so no tenant can take the server's last connection. */
  async function checkCapacity(c: pg.Client, plan: PostgresPlan, except?: string): Promise<void> {
    const r = await c.query<{ used: string; max: string; reserved: string }>(
      `SELECT coalesce(sum(rolconnlimit) FILTER (WHERE rolconnlimit > 0), 0) AS used, current_setting('max_connections') AS max,
              current_setting('superuser_reserved_connections') AS reserved
         FROM pg_catalog.pg_roles WHERE rolname ~ '^d[0-9a-f]{20}$' AND rolname IS DISTINCT FROM $1`, [except ?? null]);
    const { used, max, reserved } = r.rows[0];
    const free = Number(max) - Number(reserved) - ADMIN_CONNECTIONS - Number(used);
    if (plan.connections > free) {
      throw new AppError('insufficient_capacity', `The PostgreSQL add-on server has ${Math.max(0, free)} connections left for a new plan; ${plan.name} needs ${plan.connections}.`, 507);
    }
  }

  return {
    host: o.host,
    port: o.port,
    tenantUrl,
    harden,
    async create(resource, password, plan) {
      const r = checkResource(resource);
      await ensureChecked();
      await admin(async (c) => {
        await checkCapacity(c, plan);
        await c.query(`CREATE ROLE ${r} LOGIN PASSWORD '${checkPassword(password)}' ${TENANT_ROLE_ATTRIBUTES}`);
        for (const q of planStatements(r, plan)) await c.query(q);
        await c.query(`CREATE DATABASE ${r} OWNER ${r}`);
        await c.query(`REVOKE ALL ON DATABASE ${r} FROM PUBLIC`);
        await c.query(`GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${r} TO ${r}`);
      });
    },
    async setPassword(resource, password) {
      const r = checkResource(resource);
      await admin(async (c) => {
        await c.query(`ALTER ROLE ${r} PASSWORD '${checkPassword(password)}'`);
        await endConnections(c, r);
      });
    },
    async setPlan(resource, plan) {
      const r = checkResource(resource);
      await admin(async (c) => {
        await checkCapacity(c, plan, r);
        for (const q of planStatements(r, plan)) await c.query(q);
      });
    },
    async drop(resource) {
      const r = checkResource(resource);
      await admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${r} WITH (FORCE)`);
        await endConnections(c, r);
        await c.query(`DROP ROLE IF EXISTS ${r}`);
        await c.query(`DROP ROLE IF EXISTS ${keeperOf(r)}`);
      });
    },
    async usage(resource) {
      const r = checkResource(resource);
      const head = await admin((c) => c.query<{ size: string; connections: string; version: string; read_only: boolean }>(
        `SELECT pg_catalog.pg_database_size($1) AS size,
                (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND usename = $1) AS connections,
                pg_catalog.current_setting('server_version') AS version,
                EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $2) AS read_only`, [r, keeperOf(r)]));
      const row = head.rows[0];
      return { sizeBytes: Number(row.size), connections: Number(row.connections), serverVersion: row.version, readOnly: row.read_only };
    },
    async setReadOnly(resource, readOnly) {
      const r = checkResource(resource);
      await admin((c) => (readOnly ? takeWrites(c, r) : giveWrites(c, r)), r);
    },
    async tables(resource, password) {
      const client = new pg.Client({ connectionString: tenantUrl(resource, password), connectionTimeoutMillis: 10_000, statement_timeout: 10_000 });
      try {
        await client.connect();
        const n = await client.query<{ n: string }>(
          `SELECT pg_catalog.count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname !~ '^pg_toast'`);
        return Number(n.rows[0].n);
      } catch (e) {
        throw serverError(e);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async exists(resource) {
      const r = await admin((c) => c.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [checkResource(resource)]));
      return r.rowCount === 1;
    },
  };
}
