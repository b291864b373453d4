/** The add-on rows: add-ons, their attachments to apps, and where dynos reach them. All SQL of add-ons is here. */
import type { Db, DbClient } from '../db/pool.js';
import type { AddonServiceName } from './plans.js';

export interface Addon {
  id: string;
  name: string;
  service: AddonServiceName;
  plan: string;
  /** The app that made it (Heroku's billing app). */
  app_id: string;
  app_name: string;
  state: 'provisioning' | 'provisioned' | 'deprovisioning';
  host: string;
  port: number;
  /** The database and role (PostgreSQL) or directory (Redis) on the add-on server. */
  resource: string;
  password_sealed: string;
  created_at: Date;
  updated_at: Date;
}

export interface Attachment {
  id: string;
  name: string;
  app_id: string;
  app_name: string;
  addon_id: string;
  addon_name: string;
  addon_app_id: string;
  addon_app_name: string;
  service: AddonServiceName;
  plan: string;
  created_at: Date;
  updated_at: Date;
}

export interface ServerDisk {
  free_bytes: number;
  total_bytes: number;
  full: boolean;
  checked_at: Date;
}

export interface AddonEndpoint {
  host: string;
  port: number;
}

const ADDON = `SELECT ad.*, a.name AS app_name FROM addons ad JOIN apps a ON a.id = ad.app_id`;
const ATTACHMENT = `SELECT t.id, t.name, t.app_id, ta.name AS app_name, t.addon_id, ad.name AS addon_name, ad.app_id AS addon_app_id,
    aa.name AS addon_app_name, ad.service, ad.plan, t.created_at, t.updated_at
  FROM addon_attachments t JOIN apps ta ON ta.id = t.app_id JOIN addons ad ON ad.id = t.addon_id JOIN apps aa ON aa.id = ad.app_id`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Matches an add-on by id or name ($n), never comparing a non-uuid against the uuid column. */
const byIdent = (col: string, n: number, ident: string) => (UUID.test(ident) ? `${col}.id = $${n}::text::uuid` : `${col}.name = $${n}::text`);

export function createAddonStore(db: Db) {
  return {
    async insert(tx: DbClient, a: Pick<Addon, 'name' | 'service' | 'plan' | 'app_id' | 'state' | 'host' | 'port' | 'resource' | 'password_sealed'>): Promise<string> {
      const r = await tx.query<{ id: string }>(
        `INSERT INTO addons (name, service, plan, app_id, state, host, port, resource, password_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [a.name, a.service, a.plan, a.app_id, a.state, a.host, a.port, a.resource, a.password_sealed]);
      return r.rows[0].id;
    },
    async attach(tx: DbClient, addonId: string, appId: string, name: string): Promise<string> {
      const r = await tx.query<{ id: string }>('INSERT INTO addon_attachments (addon_id, app_id, name) VALUES ($1, $2, $3) RETURNING id', [addonId, appId, name]);
      return r.rows[0].id;
    },
    async get(ident: string): Promise<Addon | undefined> {
      return (await db.query<Addon>(`${ADDON} WHERE ${byIdent('ad', 1, ident)}`, [ident])).rows[0];
    },
    /** An add-on attached to the app, by its id, its name, or the name of its attachment there (DATABASE). */
    async getForApp(appId: string, ident: string): Promise<Addon | undefined> {
      const r = await db.query<Addon>(
        `${ADDON} WHERE EXISTS (SELECT 1 FROM addon_attachments t WHERE t.addon_id = ad.id AND t.app_id = $1)
           AND (${byIdent('ad', 2, ident)} OR EXISTS (SELECT 1 FROM addon_attachments t WHERE t.addon_id = ad.id AND t.app_id = $1 AND t.name = upper($2::text)))`,
        [appId, ident]);
      return r.rows[0];
    },
    /** The add-ons attached to the app (its own and others' shared with it), oldest first. */
    async listForApp(appId: string): Promise<Addon[]> {
      return (await db.query<Addon>(`${ADDON} WHERE EXISTS (SELECT 1 FROM addon_attachments t WHERE t.addon_id = ad.id AND t.app_id = $1) ORDER BY ad.created_at`, [appId])).rows;
    },
    /** Add-ons billed to the apps of this owner, and whether the owner is an administrator (whose are not capped). */
    async countOfOwner(ownerId: string): Promise<{ count: number; admin: boolean }> {
      const r = await db.query<{ n: number; admin: boolean }>(
        `SELECT (SELECT count(*)::int FROM addons ad JOIN apps p ON p.id = ad.app_id WHERE p.owner_id = $1) AS n,
                coalesce((SELECT is_admin FROM users WHERE id = $1), false) AS admin`, [ownerId]);
      return { count: r.rows[0].n, admin: r.rows[0].admin };
    },
    async listBilledTo(appId: string): Promise<Addon[]> {
      return (await db.query<Addon>(`${ADDON} WHERE ad.app_id = $1 ORDER BY ad.created_at`, [appId])).rows;
    },
    async attachmentsOfApp(appId: string): Promise<Attachment[]> {
      return (await db.query<Attachment>(`${ATTACHMENT} WHERE t.app_id = $1 ORDER BY t.created_at`, [appId])).rows;
    },
    async attachmentsOfAddon(addonId: string): Promise<Attachment[]> {
      return (await db.query<Attachment>(`${ATTACHMENT} WHERE t.addon_id = $1 ORDER BY t.created_at`, [addonId])).rows;
    },
    async attachment(ident: string): Promise<Attachment | undefined> {
      return (await db.query<Attachment>(`${ATTACHMENT} WHERE ${byIdent('t', 1, ident)}`, [ident])).rows[0];
    },
    async attachmentNamesOfApp(appId: string): Promise<string[]> {
      return (await db.query<{ name: string }>('SELECT name FROM addon_attachments WHERE app_id = $1', [appId])).rows.map((r) => r.name);
    },
    async detach(tx: DbClient, attachmentId: string): Promise<void> {
      await tx.query('DELETE FROM addon_attachments WHERE id = $1', [attachmentId]);
    },
    async remove(tx: DbClient, addonId: string): Promise<void> {
      await tx.query('DELETE FROM addons WHERE id = $1', [addonId]);
    },
    async setState(addonId: string, state: Addon['state']): Promise<void> {
      await db.query('UPDATE addons SET state = $2, updated_at = now() WHERE id = $1', [addonId, state]);
    },
    async setPassword(addonId: string, sealed: string): Promise<void> {
      await db.query('UPDATE addons SET password_sealed = $2, updated_at = now() WHERE id = $1', [addonId, sealed]);
    },
    async setBillingApp(tx: DbClient, addonId: string, appId: string): Promise<void> {
      await tx.query('UPDATE addons SET app_id = $2, updated_at = now() WHERE id = $1', [addonId, appId]);
    },
    async redisPortsInUse(host: string): Promise<Set<number>> {
      return new Set((await db.query<{ port: number }>(`SELECT port FROM addons WHERE service = 'redis' AND host = $1`, [host])).rows.map((r) => r.port));
    },
    /** The add-on servers the app's dynos may reach (one per attachment). */
    async endpointsOf(appId: string): Promise<AddonEndpoint[]> {
      return (await db.query<{ e: AddonEndpoint[] }>(`SELECT ${ADDON_ENDPOINTS_OF('$1::uuid')} AS e`, [appId])).rows[0].e;
    },
    /** The PostgreSQL add-ons provisioned on the server at host:port. */
    async postgresOn(host: string, port: number): Promise<Addon[]> {
      return (await db.query<Addon>(`${ADDON} WHERE ad.service = 'postgresql' AND ad.state = 'provisioned' AND ad.host = $1 AND ad.port = $2 ORDER BY ad.created_at`, [host, port])).rows;
    },
    async setServerDisk(server: string, d: Omit<ServerDisk, 'checked_at'>): Promise<void> {
      await db.query(`INSERT INTO addon_server_disks (server, free_bytes, total_bytes, "full") VALUES ($1, $2, $3, $4)
        ON CONFLICT (server) DO UPDATE SET free_bytes = $2, total_bytes = $3, "full" = $4, checked_at = now()`, [server, d.free_bytes, d.total_bytes, d.full]);
    },
    async serverDisk(server: string): Promise<ServerDisk | undefined> {
      const r = await db.query<ServerDisk>('SELECT free_bytes::float8 AS free_bytes, total_bytes::float8 AS total_bytes, "full", checked_at FROM addon_server_disks WHERE server = $1', [server]);
      return r.rows[0];
    },
    /** The Redis add-ons the add-on host should be running. */
    async redisToRun(): Promise<Addon[]> {
      return (await db.query<Addon>(`${ADDON} WHERE ad.service = 'redis' AND ad.state <> 'deprovisioning'`)).rows;
    },
  };
}

export type AddonStore = ReturnType<typeof createAddonStore>;

/** SQL for the add-on servers an app's dynos may reach (one per attachment): for the queries that load dynos. */
export const ADDON_ENDPOINTS_OF = (appIdExpr: string) => `(SELECT coalesce(json_agg(DISTINCT jsonb_build_object('host', ad.host, 'port', ad.port)), '[]'::json)
    FROM addon_attachments t JOIN addons ad ON ad.id = t.addon_id WHERE t.app_id = ${appIdExpr})`;
