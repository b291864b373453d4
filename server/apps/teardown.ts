/**
 * What goes when an app is destroyed, besides its rows and repo: its build cache, uploaded sources, the slugs no
 * other app shares, and its log stream. (The agent stops its dynos and tidies the unpacked slugs and any log lines
 * written while they stopped: see server/roles/tidy.ts.)
 */
import { removeBuildCache } from '../builds/build-disks.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Db } from '../db/pool.js';
import { appLogKey } from '../logs/app-log.js';

const DIGEST = /^[0-9a-f]{64}$/;

export interface AppTeardown {
  /** Before the rows go: what the app owns that may outlive them. */
  collect(appId: string): Promise<{ digests: string[] }>;
  /** After the rows went. */
  run(appId: string, owned: { digests: string[] }): Promise<void>;
}

export function createAppTeardown(deps: {
  db: Db; dataDir: string; redis?: Redis; redisPrefix: string;
  /** Its add-ons: those only it uses are destroyed with their data, shared ones move to another app. */
  releaseAddons?: (appId: string) => Promise<void>;
}): AppTeardown {
  return {
    async collect(appId) {
      await deps.releaseAddons?.(appId);
      const r = await deps.db.query<{ digest: string }>('SELECT DISTINCT digest FROM slugs WHERE app_id = $1', [appId]);
      return { digests: r.rows.map((x) => x.digest).filter((d) => DIGEST.test(d)) };
    },
    async run(appId, owned) {
      await removeBuildCache(join(deps.dataDir, 'cache', 'apps', appId));
      await rm(join(deps.dataDir, 'sources', appId), { recursive: true, force: true });
      // Slugs are stored by digest: one another app still references (the same code pushed twice) stays.
      const kept = new Set((await deps.db.query<{ digest: string }>('SELECT DISTINCT digest FROM slugs WHERE digest = ANY($1)', [owned.digests])).rows.map((r) => r.digest));
      for (const d of owned.digests) if (!kept.has(d)) await rm(join(deps.dataDir, 'slugs', `${d}.tar.gz`), { force: true });
      await deps.redis?.del(appLogKey(deps.redisPrefix, appId));
    },
  };
}
