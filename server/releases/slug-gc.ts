/**
 * Garbage collection of slugs: a slug no kept release uses loses its file (DATA/slugs/<digest>.tar.gz) and is
 * marked expired; its row stays, so the release history is whole and a rollback to it says why it cannot be done.
 * Kept: the slugs of each app's last SLIPWAY_KEEP_RELEASES releases, of its current release and of one being
 * deployed, of any release a dyno runs, and a new slug not yet released (its build is about to release it).
 * Unpacked copies (DATA/slug-cache) follow: the agent's tidying removes those of expired slugs no dyno runs.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../db/pool.js';
import { currentReleaseId, deployingReleaseId } from '../plane/current-release.js';

export interface SlugCollection {
  expired: number;
  removedBytes: number;
}

export function createSlugCollector(deps: { db: Db; dataDir: string; keepReleases: number }) {
  let running: Promise<SlugCollection> | undefined;
  async function collect(): Promise<SlugCollection> {
    const r = await deps.db.query<{ digest: string }>(
      `WITH ranked AS (
         SELECT slug_id, row_number() OVER (PARTITION BY app_id ORDER BY version DESC) AS n FROM releases WHERE slug_id IS NOT NULL),
       kept AS (
         SELECT slug_id FROM ranked WHERE n <= $1
         UNION SELECT r.slug_id FROM apps a JOIN releases r ON r.id = ${currentReleaseId('a.id')} OR r.id = ${deployingReleaseId('a.id')}
         UNION SELECT r.slug_id FROM dynos d JOIN releases r ON r.id = d.release_id)
       UPDATE slugs s SET expired_at = now(), updated_at = now()
        WHERE s.expired_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM kept WHERE kept.slug_id = s.id)
          AND (EXISTS (SELECT 1 FROM releases r WHERE r.slug_id = s.id) OR s.created_at < now() - interval '1 hour')
       RETURNING s.digest`,
      [deps.keepReleases],
    );
    const digests = [...new Set(r.rows.map((x) => x.digest))];
    if (digests.length === 0) return { expired: 0, removedBytes: 0 };
    // Two apps may have made the same slug: its file goes once no unexpired slug has that digest.
    const live = new Set((await deps.db.query<{ digest: string }>(
      'SELECT DISTINCT digest FROM slugs WHERE digest = ANY($1) AND expired_at IS NULL', [digests])).rows.map((x) => x.digest));
    let removedBytes = 0;
    for (const d of digests) {
      if (live.has(d) || !/^[0-9a-f]{64}$/.test(d)) continue;
      const file = join(deps.dataDir, 'slugs', `${d}.tar.gz`);
      removedBytes += (await stat(file).catch(() => undefined))?.size ?? 0;
      await rm(file, { force: true });
    }
    return { expired: r.rows.length, removedBytes };
  }
  /** One pass at a time; a pass asked for while one runs joins it. */
  return (): Promise<SlugCollection> => (running ??= collect().finally(() => (running = undefined)));
}

export type SlugCollector = ReturnType<typeof createSlugCollector>;
