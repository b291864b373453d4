/**
 * The release_images rows: which image each release has, and the blobs it uses; and the layers of kept slugs,
 * which are blobs in use too. All SQL of images is here.
 */
import type { Db } from '../db/pool.js';

/** Every (app, blob) in use: by a recorded image, or as a layer of a slug garbage collection has not removed. */
const BLOB_USES = `(SELECT app_id, unnest(blobs) AS b FROM release_images
  UNION SELECT s.app_id, l ->> 'digest' FROM slugs s, jsonb_array_elements(s.layers) l WHERE s.expired_at IS NULL AND s.layers IS NOT NULL)`;

export interface ReleaseImageRow {
  release_id: string;
  manifest_digest: string;
  manifest_size: number;
  blobs: string[];
}

export function createImageStore(db: Db) {
  return {
    async ofRelease(releaseId: string): Promise<ReleaseImageRow | undefined> {
      return (await db.query<ReleaseImageRow>('SELECT release_id, manifest_digest, manifest_size, blobs FROM release_images WHERE release_id = $1', [releaseId])).rows[0];
    },
    async record(appId: string, releaseId: string, manifest: { digest: string; size: number }, blobs: string[]): Promise<void> {
      await db.query(`INSERT INTO release_images (release_id, app_id, manifest_digest, manifest_size, blobs) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (release_id) DO UPDATE SET manifest_digest = $3, manifest_size = $4, blobs = $5`, [releaseId, appId, manifest.digest, manifest.size, blobs]);
    },
    /** The release of the app whose image has this manifest. */
    async releaseWithManifest(appId: string, digest: string): Promise<string | undefined> {
      return (await db.query<{ release_id: string }>('SELECT release_id FROM release_images WHERE app_id = $1 AND manifest_digest = $2 LIMIT 1', [appId, digest])).rows[0]?.release_id;
    },
    /** Forgets the images of releases whose slug garbage collection removed; how many. */
    async forgetExpired(): Promise<number> {
      const r = await db.query(`DELETE FROM release_images ri USING releases r JOIN slugs s ON s.id = r.slug_id
        WHERE ri.release_id = r.id AND s.expired_at IS NOT NULL`);
      return r.rowCount ?? 0;
    },
    /** Every blob a recorded image or a kept slug uses. */
    async blobsInUse(): Promise<Set<string>> {
      return new Set((await db.query<{ b: string }>(`SELECT DISTINCT b FROM ${BLOB_USES} uses`)).rows.map((r) => r.b));
    },
    /** The blobs the app's images and kept slugs use, each marked shared when another app uses it too. */
    async blobsOfApp(appId: string): Promise<{ digest: string; shared: boolean }[]> {
      return (await db.query<{ digest: string; shared: boolean }>(
        `WITH uses AS ${BLOB_USES}
         SELECT b AS digest, EXISTS (SELECT 1 FROM uses o WHERE o.app_id <> $1 AND o.b = mine.b) AS shared
           FROM (SELECT DISTINCT b FROM uses WHERE app_id = $1) mine`, [appId])).rows;
    },
    /** Whether an image of the app uses the blob. */
    async appUses(appId: string, digest: string): Promise<boolean> {
      return (await db.query('SELECT 1 FROM release_images WHERE app_id = $1 AND $2 = ANY (blobs) LIMIT 1', [appId, digest])).rowCount! > 0;
    },
  };
}

export type ImageStore = ReturnType<typeof createImageStore>;
