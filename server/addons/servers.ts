/**
 * Where add-ons are made: the PostgreSQL add-on server (the embedded one `slipway up` runs on the bridge's gateway
 * address, or an operator's, given by an admin URL) and the Redis add-on host (a redis-server per add-on, on a port
 * of the gateway address from a configured range). Every role computes the same from the config.
 */
import { join } from 'node:path';
import type { Config } from '../config.js';
import { embeddedPostgresUrl } from '../embedded/postgres.js';
import { parseSubnet } from '../../runner/index.js';
import { createPostgresAddonServer, type PostgresAddonServer } from './postgres-server.js';

export interface RedisAddonHost {
  host: string;
  ports: [number, number];
  /** The directory a Redis add-on keeps its data, config and socket in. */
  dirOf(resource: string): string;
}

export interface AddonServers {
  postgres?: PostgresAddonServer;
  redis?: RedisAddonHost;
}

export const addonsDir = (config: Config) => join(config.dataDir, 'addons');
export const embeddedAddonPostgresDir = (config: Config) => join(addonsDir(config), 'postgres');
export const backupsDir = (config: Config) => join(addonsDir(config), 'backups');

const embeddedAddonPostgresSocket = (config: Config) => join(embeddedAddonPostgresDir(config), 'run');

/** The embedded add-on server's admin URL: its unix socket, as the platform's own role (trust, socket only). */
export function embeddedAddonPostgresUrl(config: Config): string {
  return embeddedPostgresUrl(embeddedAddonPostgresSocket(config), config.addons.postgresPort);
}

export function addonServers(config: Config): AddonServers {
  const gateway = parseSubnet(config.subnet).gateway;
  const pg = config.addons.postgres;
  let postgres: PostgresAddonServer | undefined;
  if (pg === 'embedded') {
    postgres = createPostgresAddonServer({
      adminUrl: embeddedAddonPostgresUrl(config), host: gateway, port: config.addons.postgresPort, socketDir: embeddedAddonPostgresSocket(config),
    });
  } else if (typeof pg === 'object') {
    const u = new URL(pg.adminUrl);
    postgres = createPostgresAddonServer({ adminUrl: pg.adminUrl, host: u.hostname, port: Number(u.port || 5432) });
  }
  const redis: RedisAddonHost | undefined = config.addons.redis === 'embedded'
    ? { host: gateway, ports: config.addons.redisPorts, dirOf: (resource) => join(addonsDir(config), 'redis', resource) }
    : undefined;
  return { postgres, redis };
}
