import type { Db } from '../db/pool.js';
import { notFound } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';
import type { HealthCheck } from '../../platform/health-check.js';
import type { SlugLayer } from '../images/slug-layers.js';

export interface Slug {
  id: string;
  app_id: string;
  digest: string;
  size: number;
  commit: string | null;
  commit_description: string | null;
  process_types: Record<string, string>;
  /** Startup checks by process type, from the app's app.json (platform/health-check.ts). */
  healthchecks: Record<string, HealthCheck[]> | null;
  buildpack_provided_description: string | null;
  stack: string;
  /** app.json's scripts.postdeploy: run once after the app's first successful deploy. */
  postdeploy: string | null;
  /** Its layers by role, lowest first (server/images/slug-layers.ts); null for a slug made before layers (one file). */
  layers: SlugLayer[] | null;
  /** When garbage collection removed its file (slug-gc.ts); the row stays for the release history. */
  expired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function createSlugService(db: Db) {
  return {
    async create(app: App, s: {
      digest: string; size: number; /** None: one file, DATA/slugs/DIGEST.tar.gz. */ layers?: SlugLayer[]; commit: string; processTypes: Record<string, string>; buildpack: string; stack: string; healthchecks?: Record<string, HealthCheck[]>;
      formation?: Record<string, { quantity?: number; size?: string }>; postdeploy?: string;
    }): Promise<Slug> {
      const r = await db.query(
        `INSERT INTO slugs (app_id, digest, size, commit, process_types, buildpack_provided_description, stack, healthchecks, formation, postdeploy, layers)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [app.id, s.digest, s.size, s.commit, JSON.stringify(s.processTypes), s.buildpack, s.stack, s.healthchecks && Object.keys(s.healthchecks).length ? JSON.stringify(s.healthchecks) : null,
          s.formation && Object.keys(s.formation).length ? JSON.stringify(s.formation) : null, s.postdeploy ?? null, s.layers ? JSON.stringify(s.layers) : null],
      );
      await db.query(`UPDATE apps SET slug_size = $2, buildpack_provided_description = $3, updated_at = now() WHERE id = $1`, [app.id, s.size, s.buildpack]);
      return r.rows[0];
    },
    async byId(id: string): Promise<Slug | undefined> {
      return isUuid(id) ? (await db.query(`SELECT * FROM slugs WHERE id = $1`, [id])).rows[0] : undefined;
    },
    async get(app: App, id: string): Promise<Slug> {
      const r = isUuid(id) ? await db.query(`SELECT * FROM slugs WHERE id = $1 AND app_id = $2`, [id, app.id]) : { rows: [] };
      if (!r.rows[0]) throw notFound("Couldn't find that slug.");
      return r.rows[0];
    },
    /** The layers of a slug by its digest; null for a slug made before layers; undefined for no such slug. */
    async layersOf(digest: string): Promise<SlugLayer[] | null | undefined> {
      const r = await db.query<{ layers: SlugLayer[] | null }>('SELECT layers FROM slugs WHERE digest = $1 LIMIT 1', [digest]);
      return r.rows[0] ? r.rows[0].layers : undefined;
    },
    /**
     * The app's slugs kept (not garbage-collected), and the bytes of those made before layers (one file each; the
     * layers of the others are image blobs, counted with them).
     */
    async diskUse(app: App): Promise<{ count: number; bytes: number }> {
      const r = await db.query<{ count: string; bytes: string }>(
        'SELECT count(*) AS count, coalesce(sum(size) FILTER (WHERE layers IS NULL), 0) AS bytes FROM slugs WHERE app_id = $1 AND expired_at IS NULL', [app.id]);
      return { count: Number(r.rows[0].count), bytes: Number(r.rows[0].bytes) };
    },
  };
}

export type SlugService = ReturnType<typeof createSlugService>;
