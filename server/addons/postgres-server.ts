/**
 * What the platform does on a PostgreSQL add-on server, as its admin: one role and one database per add-on (the
 * same random name for both), the role an ordinary one (no superuser, no CREATEDB/CREATEROLE, a connection limit
 * from the plan), CONNECT revoked from PUBLIC so no other role may open the database. On the embedded server the
 * pg_hba.conf also lets a role log in from the dyno network only to the database of its own name ("sameuser").
 *
 * Names and passwords are made here (lowercase letters and digits) and checked again before they reach SQL, which
 * cannot take them as parameters. Error messages from here never hold a password.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresPlan } from './plans.js';
import { AppError } from '../errors.js';

const RESOURCE = /^[a-z][a-z0-9]{11,62}$/;
const PASSWORD = /^[a-z0-9]{32,128}$/;

export interface PostgresUsage {
  sizeBytes: number;
  connections: number;
  tables: number;
  serverVersion: string;
}

export interface PostgresAddonServer {
  /** Where dynos reach it. */
  host: string;
  port: number;
  /** The admin's URL of one database (for pg_dump and pg_restore); it may hold the admin's password. */
  adminUrl(database: string): string;
  create(resource: string, password: string, plan: PostgresPlan): Promise<void>;
  /** A new password; the role's open connections are ended (as Heroku's rotation does). */
  setPassword(resource: string, password: string): Promise<void>;
  setPlan(resource: string, plan: PostgresPlan): Promise<void>;
  drop(resource: string): Promise<void>;
  usage(resource: string): Promise<PostgresUsage>;
  exists(resource: string): Promise<boolean>;
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

/** An add-on server reached as admin at adminUrl (a postgres:// URL, or the embedded one's socket URL). */
export function createPostgresAddonServer(o: { adminUrl: string; host: string; port: number }): PostgresAddonServer {
  async function admin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: withDatabase(o.adminUrl, database), connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      return await fn(client);
    } catch (e) {
      throw serverError(e);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const endConnections = (c: pg.Client, resource: string) =>
    c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [resource]);

  return {
    host: o.host,
    port: o.port,
    adminUrl: (database) => withDatabase(o.adminUrl, checkResource(database)),
    async create(resource, password, plan) {
      const r = checkResource(resource);
      await admin(async (c) => {
        await c.query(`CREATE ROLE ${r} LOGIN PASSWORD '${checkPassword(password)}' CONNECTION LIMIT ${plan.connections} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION`);
        await c.query(`CREATE DATABASE ${r} OWNER ${r}`);
        await c.query(`REVOKE ALL ON DATABASE ${r} FROM PUBLIC`);
        await c.query(`GRANT ALL ON DATABASE ${r} TO ${r}`);
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
      await admin((c) => c.query(`ALTER ROLE ${checkResource(resource)} CONNECTION LIMIT ${plan.connections}`));
    },
    async drop(resource) {
      const r = checkResource(resource);
      await admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${r} WITH (FORCE)`);
        await endConnections(c, r);
        await c.query(`DROP ROLE IF EXISTS ${r}`);
      });
    },
    async usage(resource) {
      const r = checkResource(resource);
      const head = await admin((c) => c.query<{ size: string; connections: string; version: string }>(
        `SELECT pg_database_size($1) AS size, (SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $1) AS connections,
                current_setting('server_version') AS version`, [r]));
      const tables = await admin((c) => c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`), r);
      const row = head.rows[0];
      return { sizeBytes: Number(row.size), connections: Number(row.connections), tables: Number(tables.rows[0].n), serverVersion: row.version };
    },
    async exists(resource) {
      const r = await admin((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [checkResource(resource)]));
      return r.rowCount === 1;
    },
  };
}
