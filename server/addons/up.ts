/** `slipway up` runs the add-on host (server/addons/host.ts) when either kind of add-on is embedded. */
import type { Config } from '../config.js';
import { createDb } from '../db/pool.js';
import type { Logger } from '../log.js';
import { createKeyBox } from '../services/key-box.js';
import { startAddonHost } from './host.js';
import { addonServers } from './servers.js';
import { createAppLogWriter } from '../logs/app-log.js';
import { createRedis } from '../redis.js';

export async function startAddonServers(config: Config, log: Logger): Promise<{ stop(): Promise<void> } | undefined> {
  if (config.addons.postgres !== 'embedded' && config.addons.redis !== 'embedded') return undefined;
  if (!config.isRoot) {
    log.warn('add-on servers not started: they listen on the dyno bridge, which needs root (add-ons cannot be created)');
    return undefined;
  }
  const db = createDb(config.databaseUrl!, 2);
  // The storage watch's lines go to the attached apps' logs.
  const redis = createRedis(config.redisUrl!);
  const logs = createAppLogWriter(redis, config.redisPrefix, { maxLines: config.logLines });
  const close = async () => {
    await logs.close();
    redis.disconnect();
    await db.end();
  };
  try {
    const host = await startAddonHost({ config, db, keys: createKeyBox({ dataDir: config.dataDir, certKey: config.certKey }), log, logs });
    return {
      async stop() {
        await host.stop();
        await close();
      },
    };
  } catch (e) {
    // The platform runs without them (creating an add-on says the server is unreachable) rather than not at all.
    log.error('add-on servers not started; add-ons are unavailable', { error: (e as Error).message });
    await close();
    return undefined;
  }
}

/** The `Add-ons` line of `slipway up`'s greeting. */
export function describeAddons(config: Config): string {
  const s = addonServers(config);
  const pg = config.addons.postgres === 'embedded' ? `PostgreSQL at ${s.postgres!.host}:${s.postgres!.port} (DATA/addons/postgres)`
    : s.postgres ? `PostgreSQL at ${s.postgres.host}:${s.postgres.port} (SLIPWAY_ADDON_POSTGRES)` : 'no PostgreSQL';
  const redis = s.redis ? `Redis on ${s.redis.host}:${s.redis.ports.join('-')}` : 'no Redis';
  return `${pg}; ${redis}`;
}
