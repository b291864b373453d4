import type { Db, DbClient } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { invalidParams, notFound } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';
import type { EventBus } from '../events.js';
import type { ReleaseJob } from '../queue.js';
import { ensureFormation } from '../dynos/service.js';
import { currentReleaseId } from '../plane/current-release.js';

export interface Release {
  id: string;
  app_id: string;
  app_name: string;
  version: number;
  slug_id: string | null;
  config: Record<string, string>;
  process_types: Record<string, string>;
  description: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** Why it failed (its release phase, or its deploy), when it did. */
  failure: string | null;
  /** When its deploy began: its dynos run beside the current release's until they are verified. */
  deploy_started_at: Date | null;
  user_id: string | null;
  user_email: string | null;
  current: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface NewRelease {
  slugId: string | null;
  config: Record<string, string>;
  processTypes: Record<string, string>;
  description: string;
  userId: string | null;
  status?: Release['status'];
}

const COLUMNS = `r.id, r.app_id, a.name AS app_name, r.version, r.slug_id, r.config, r.process_types, r.description, r.status,
  r.failure, r.deploy_started_at, r.user_id, u.email AS user_email, r.created_at, r.updated_at,
  r.id = ${currentReleaseId('r.app_id')} AS current`;
const FROM = 'FROM releases r JOIN apps a ON a.id = r.app_id LEFT JOIN users u ON u.id = r.user_id';

export function createReleaseService(db: Db, events?: EventBus, pipeline?: { release(job: ReleaseJob): Promise<void> }) {
  return {
    /** After a release changed (succeeded, failed, began its deploy): agents and routers look again. */
    async announce(appId: string): Promise<void> {
      await events?.publish({ kind: 'release', appId });
    },
    /** After a release is committed: a pending one goes to the Release stage (then Deploy); a succeeded one is announced. */
    async started(release: Release): Promise<void> {
      if (release.status === 'pending' && pipeline) await pipeline.release({ releaseId: release.id });
      else if (release.status === 'succeeded') await this.announce(release.app_id);
    },
    /**
     * Release vN+1. Serialized per app by locking the app row, so versions are unique and gapless
     * under concurrent pushes and config changes.
     */
    async create(app: App, input: NewRelease, client?: DbClient): Promise<Release> {
      const insert = async (tx: DbClient) => {
        await tx.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [app.id]);
        const r = await tx.query(
          `INSERT INTO releases (app_id, version, slug_id, config, process_types, description, status, user_id)
             VALUES ($1, COALESCE((SELECT max(version) FROM releases WHERE app_id = $1), 0) + 1, $2, $3, $4, $5, $6, $7)
           RETURNING id`,
          [app.id, input.slugId, JSON.stringify(input.config), JSON.stringify(input.processTypes), input.description, input.status ?? 'pending', input.userId],
        );
        if (input.status === 'succeeded') await ensureFormation(tx, app.id, input.processTypes, input.slugId);
        return r.rows[0].id as string;
      };
      const id = client ? await insert(client) : await withTransaction(db, insert);
      if (!client && input.status === 'succeeded') await this.announce(app.id);
      return (await (client ?? db).query(`SELECT ${COLUMNS} ${FROM} WHERE r.id = $1`, [id])).rows[0];
    },
    /** Rollback: a new release with the old one's slug AND config (Heroku's semantics). */
    async rollback(app: App, idOrVersion: string, userId: string): Promise<Release> {
      const target = await this.get(app, idOrVersion);
      if (target.status !== 'succeeded' || !target.slug_id) throw invalidParams(`Release v${target.version} cannot be rolled back to: it ${target.slug_id ? 'did not succeed' : 'has no slug'}.`);
      const expired = (await db.query<{ expired_at: Date | null }>('SELECT expired_at FROM slugs WHERE id = $1', [target.slug_id])).rows[0]?.expired_at;
      if (expired) {
        throw invalidParams(`Release v${target.version} cannot be rolled back to: its slug was removed by garbage collection (an app keeps the slugs of its last releases: SLIPWAY_KEEP_RELEASES).`);
      }
      const rel = await withTransaction(db, async (tx) => {
        // The add-ons' config vars stay as they are now (a rollback never points an app at old credentials): data
        // and add-ons are not rolled back.
        const addonVars = await tx.query<{ key: string; value: string }>(
          `SELECT c.key, c.value FROM config_vars c JOIN addon_attachments t ON t.app_id = c.app_id AND c.key = t.name || '_URL' WHERE c.app_id = $1`, [app.id]);
        const config = { ...target.config, ...Object.fromEntries(addonVars.rows.map((r) => [r.key, r.value])) };
        const rel = await this.create(app, { slugId: target.slug_id, config, processTypes: target.process_types, description: `Rollback to v${target.version}`, userId, status: 'pending' }, tx);
        await tx.query('DELETE FROM config_vars WHERE app_id = $1', [app.id]);
        for (const [k, v] of Object.entries(config)) await tx.query('INSERT INTO config_vars (app_id, key, value) VALUES ($1, $2, $3)', [app.id, k, v]);
        return rel;
      });
      await this.started(rel);
      return rel;
    },
    async byId(id: string): Promise<Release | undefined> {
      return isUuid(id) ? (await db.query(`SELECT ${COLUMNS} ${FROM} WHERE r.id = $1`, [id])).rows[0] : undefined;
    },
    /**
     * The deploy of a pending release begins: its process types get formation rows (web 1 on its first
     * appearance), and the agents start its dynos beside the current release's (as candidates).
     */
    async beginDeploy(release: Release): Promise<void> {
      await withTransaction(db, async (tx) => {
        await ensureFormation(tx, release.app_id, release.process_types, release.slug_id);
        await tx.query(`UPDATE releases SET deploy_started_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending'`, [release.id]);
      });
      await this.announce(release.app_id);
    },
    /** The release failed (its release phase, or its dynos at deploy): kept, with the reason; the current one stays. */
    async fail(release: Release, why: string): Promise<void> {
      await db.query(`UPDATE releases SET status = 'failed', failure = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`, [release.id, why.slice(0, 4000)]);
      await this.announce(release.app_id);
    },
    async setStatus(id: string, status: Release['status']): Promise<void> {
      const appId = await withTransaction(db, async (tx) => {
        const r = await tx.query<{ app_id: string; process_types: Record<string, string>; slug_id: string | null }>(
          `UPDATE releases SET status = $2, updated_at = now() WHERE id = $1 RETURNING app_id, process_types, slug_id`, [id, status]);
        const row = r.rows[0];
        if (!row || status !== 'succeeded') return undefined;
        await tx.query(`UPDATE apps SET released_at = now(), updated_at = now() WHERE id = $1`, [row.app_id]);
        await ensureFormation(tx, row.app_id, row.process_types, row.slug_id);
        return row.app_id;
      });
      if (appId) await this.announce(appId);
    },
    async list(app: App): Promise<Release[]> {
      return (await db.query(`SELECT ${COLUMNS} ${FROM} WHERE r.app_id = $1 ORDER BY r.version`, [app.id])).rows;
    },
    async get(app: App, idOrVersion: string): Promise<Release> {
      const v = /^v?(\d{1,9})$/.exec(idOrVersion);
      const r = v
        ? await db.query(`SELECT ${COLUMNS} ${FROM} WHERE r.app_id = $1 AND r.version = $2`, [app.id, Number(v[1])])
        : isUuid(idOrVersion)
          ? await db.query(`SELECT ${COLUMNS} ${FROM} WHERE r.app_id = $1 AND r.id = $2`, [app.id, idOrVersion])
          : { rows: [] };
      if (!r.rows[0]) throw notFound("Couldn't find that release.");
      return r.rows[0];
    },
    /** The newest succeeded release, if any. */
    async current(app: App): Promise<Release | undefined> {
      const r = await db.query(`SELECT ${COLUMNS} ${FROM} WHERE r.id = ${currentReleaseId('$1')}`, [app.id]);
      return r.rows[0];
    },
  };
}

export type ReleaseService = ReturnType<typeof createReleaseService>;
