/**
 * What goes when an app is destroyed, besides its rows and repo, each feature's part subscribed to the app's
 * lifecycle (server/lifecycle.ts): its add-ons (those only it uses are destroyed with their data, shared ones move
 * to another app), its build cache, uploaded sources, the slugs no other app shares, and its log stream. (The agent
 * stops its dynos and tidies the unpacked slugs and any log lines written while they stopped: server/roles/agent-tidy.ts.)
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { removeBuildCache } from '../builds/build-disks.js';
import type { Db } from '../db/pool.js';
import type { Lifecycle } from '../lifecycle.js';
import { appLogKey } from '../logs/app-log.js';

const DIGEST = /^[0-9a-f]{64}$/;

export function subscribeAppTeardown(lifecycle: Lifecycle, deps: {
  db: Db; dataDir: string; redis?: Redis; redisPrefix: string; releaseAddons?: (appId: string) => Promise<void>;
}): void {
  // Add-ons go first: a failure there stops the destroy with nothing changed.
  if (deps.releaseAddons) lifecycle.on('appDestroying', ({ appId }) => deps.releaseAddons!(appId));
  // Slugs are stored by digest: noted before the rows go, removed after unless another app still references one.
  const owned = new Map<string, string[]>();
  lifecycle.on('appDestroying', async ({ appId }) => {
    const r = await deps.db.query<{ digest: string }>('SELECT DISTINCT digest FROM slugs WHERE app_id = $1', [appId]);
    owned.set(appId, r.rows.map((x) => x.digest).filter((d) => DIGEST.test(d)));
  });
  lifecycle.on('appDestroyed', async ({ appId }) => {
    const digests = owned.get(appId) ?? [];
    owned.delete(appId);
    const kept = new Set((await deps.db.query<{ digest: string }>('SELECT DISTINCT digest FROM slugs WHERE digest = ANY($1)', [digests])).rows.map((r) => r.digest));
    for (const d of digests) if (!kept.has(d)) await rm(join(deps.dataDir, 'slugs', `${d}.tar.gz`), { force: true });
  });
  lifecycle.on('appDestroyed', async ({ appId }) => {
    await removeBuildCache(join(deps.dataDir, 'cache', 'apps', appId));
    await rm(join(deps.dataDir, 'sources', appId), { recursive: true, force: true });
  });
  if (deps.redis) lifecycle.on('appDestroyed', async ({ appId }) => deps.redis!.del(appLogKey(deps.redisPrefix, appId)));
}
