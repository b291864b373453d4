import type { DiskGuard } from '../services/disk-guard.js';
import type { Db } from '../db/pool.js';
import { notFound, rateLimited } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';

export interface Build {
  id: string;
  app_id: string;
  app_name: string;
  user_id: string | null;
  user_email: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  source_version: string | null;
  source_url: string | null;
  slug_id: string | null;
  buildpacks: { name: string; url: string }[];
  stack: string;
  error: string | null;
  release_version: number | null;
  release_id: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `b.id, b.app_id, a.name AS app_name, b.user_id, u.email AS user_email, b.status, b.source_version, b.source_url, b.slug_id,
  b.buildpacks, b.stack, b.error, b.started_at, b.finished_at, b.created_at, b.updated_at,
  fr.version AS release_version, fr.id AS release_id`;
const FROM = `FROM builds b JOIN apps a ON a.id = b.app_id LEFT JOIN users u ON u.id = b.user_id
  LEFT JOIN LATERAL (SELECT r.version, r.id FROM releases r WHERE r.slug_id = b.slug_id ORDER BY r.version LIMIT 1) fr ON true`;

export function createBuildService(db: Db, limits: { perHour?: number; disk?: DiskGuard } = {}) {
  const byId = async (id: string): Promise<Build | undefined> => (await db.query(`SELECT ${COLUMNS} ${FROM} WHERE b.id = $1`, [id])).rows[0];
  return {
    /** A pending build; an app that started its hourly share of builds is told when it may build again (429). */
    async create(app: App, userId: string | null, version: string | null, sourceUrl: string | null = null): Promise<Build> {
      await limits.disk?.check('A new build');
      if (limits.perHour !== undefined) {
        const r = await db.query<{ n: number; oldest: Date | null }>(
          `SELECT count(*)::int AS n, min(created_at) AS oldest FROM builds WHERE app_id = $1 AND created_at > now() - interval '1 hour'`, [app.id]);
        const { n, oldest } = r.rows[0];
        if (n >= limits.perHour) {
          const waitS = oldest ? Math.max(1, Math.ceil((oldest.getTime() + 3_600_000 - Date.now()) / 1000)) : 60;
          throw rateLimited(`${app.name} started ${n} builds in the last hour, the most this platform allows (SLIPWAY_BUILDS_PER_HOUR); try again in ${Math.ceil(waitS / 60)} min.`, waitS);
        }
      }
      const r = await db.query(`INSERT INTO builds (app_id, user_id, source_version, source_url, stack) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [app.id, userId, version, sourceUrl, app.stack]);
      return (await byId(r.rows[0].id))!;
    },
    byId,
    async list(app: App): Promise<Build[]> {
      return (await db.query(`SELECT ${COLUMNS} ${FROM} WHERE b.app_id = $1 ORDER BY b.created_at`, [app.id])).rows;
    },
    async get(app: App, id: string): Promise<Build> {
      const b = isUuid(id) ? await byId(id) : undefined;
      if (!b || b.app_id !== app.id) throw notFound("Couldn't find that build.");
      return b;
    },
    /** Marks the build started; false when it had started before (its worker died mid-build). */
    async start(id: string): Promise<boolean> {
      const r = await db.query(`UPDATE builds SET started_at = now(), updated_at = now() WHERE id = $1 AND started_at IS NULL AND status = 'pending'`, [id]);
      return r.rowCount === 1;
    },
    async setBuildpacks(id: string, buildpacks: { name: string; url: string }[]): Promise<void> {
      await db.query(`UPDATE builds SET buildpacks = $2, updated_at = now() WHERE id = $1`, [id, JSON.stringify(buildpacks)]);
    },
    /** The build made its slug (it succeeds once that slug's release is deployed). */
    async setSlug(id: string, slugId: string): Promise<void> {
      await db.query(`UPDATE builds SET slug_id = $2, updated_at = now() WHERE id = $1`, [id, slugId]);
    },
    /** Its release is deployed and verified: the build, and the push that made it, succeeded. */
    async succeed(id: string): Promise<void> {
      await db.query(`UPDATE builds SET status = 'succeeded', finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending'`, [id]);
    },
    async fail(id: string, error: string): Promise<void> {
      await db.query(`UPDATE builds SET status = 'failed', error = $2, finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending'`, [id, error.slice(0, 2000)]);
    },
  };
}

export type BuildService = ReturnType<typeof createBuildService>;
