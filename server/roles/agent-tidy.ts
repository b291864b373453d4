/**
 * The agent's tidying after destroyed apps: the log stream lines its stopping dynos wrote after the app went
 * ("Stopping all processes…", "State changed … to down"), and unpacked slugs and slug layers no unexpired slug row
 * references (the app was destroyed, or garbage collection removed the slug: server/releases/slug-gc.ts).
 * Nothing an app still has a dyno of (starting, up, crashed or stopping) is touched.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Db } from '../db/pool.js';
import type { Logger } from '../log.js';
import { appLogKey, type AppLogWriter } from '../logs/app-log.js';
import { isUuid } from '../names.js';

import { unpackedDigest } from '../../runner/index.js';

export function createTidier(deps: {
  db: Db;
  redis: Redis;
  redisPrefix: string;
  slugCacheDir: string;
  layerCacheDir: string;
  logs: AppLogWriter;
  inUse: () => { apps: Set<string>; digests: Set<string> };
  log: Logger;
}) {
  const keyPrefix = appLogKey(deps.redisPrefix, '');

  async function logStreams(): Promise<number> {
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await deps.redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) if (isUuid(k.slice(keyPrefix.length))) ids.push(k.slice(keyPrefix.length));
    } while (cursor !== '0');
    if (ids.length === 0) return 0;
    const live = new Set((await deps.db.query<{ id: string }>('SELECT id FROM apps WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => r.id));
    const gone = ids.filter((id) => !live.has(id) && !deps.inUse().apps.has(id));
    if (gone.length === 0) return 0;
    await deps.logs.flush(); // the last lines of its dynos, then the stream
    await deps.redis.del(...gone.map((id) => appLogKey(deps.redisPrefix, id)));
    return gone.length;
  }

  /** The unpacked trees in dir (named DIGEST[-uUID]), and a removal of those whose digest keep() refuses: how many. */
  async function unpacked(dir: string) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((d) => unpackedDigest(d));
    return {
      digests: [...new Set(names.map((d) => unpackedDigest(d)!))],
      async removeAllBut(keep: (digest: string) => boolean): Promise<number> {
        let n = 0;
        for (const name of names) {
          if (keep(unpackedDigest(name)!)) continue;
          await rm(join(dir, name), { recursive: true, force: true });
          n++;
        }
        return n;
      },
    };
  }

  /** Unpacked slugs made before layers (DATA/slug-cache) of no unexpired slug and of no slug a dyno here runs. */
  async function unpackedSlugs(): Promise<number> {
    const found = await unpacked(deps.slugCacheDir);
    if (found.digests.length === 0) return 0;
    const referenced = new Set((await deps.db.query<{ digest: string }>('SELECT DISTINCT digest FROM slugs WHERE digest = ANY($1) AND expired_at IS NULL', [found.digests])).rows.map((r) => r.digest));
    const used = deps.inUse().digests;
    return found.removeAllBut((d) => referenced.has(d) || used.has(d));
  }

  /** Unpacked layers (DATA/layer-cache) of no unexpired slug and of no slug a dyno here runs. */
  async function unpackedLayers(): Promise<number> {
    const found = await unpacked(deps.layerCacheDir);
    if (found.digests.length === 0) return 0;
    const referenced = new Set((await deps.db.query<{ d: string }>(
      `SELECT DISTINCT substr(l ->> 'digest', 8) AS d FROM slugs s, jsonb_array_elements(s.layers) l
        WHERE s.layers IS NOT NULL AND (s.expired_at IS NULL OR s.digest = ANY($1))`, [[...deps.inUse().digests]])).rows.map((r) => r.d));
    return found.removeAllBut((d) => referenced.has(d));
  }

  let running: Promise<void> | undefined;
  return {
    /** One pass; a pass asked for while one runs joins it. */
    tidy(): Promise<void> {
      running ??= (async () => {
        try {
          const [streams, slugs, layers] = [await logStreams(), await unpackedSlugs(), await unpackedLayers()];
          if (streams || slugs || layers) deps.log.info('tidied after destroyed apps', { log_streams: streams, unpacked_slugs: slugs, unpacked_layers: layers });
        } catch (e) {
          deps.log.warn('tidying failed', { error: (e as Error).message });
        } finally {
          running = undefined;
        }
      })();
      return running;
    },
  };
}
