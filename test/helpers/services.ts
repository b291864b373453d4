/**
 * Real PostgreSQL and Redis for tests: DATABASE_URL / REDIS_URL when set, else the servers on 127.0.0.1.
 * Each test file gets its own database and Redis key prefix, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

export const SERVER_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const SERVER_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

export const uniqueId = (label: string) => `${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_DATABASE_URL });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`cannot reach PostgreSQL at ${SERVER_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${(e as Error).message} (set DATABASE_URL)`);
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database; `drop()` removes it (forcing other connections off). */
export async function createTestDatabase(label = 'slipway_t'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = uniqueId(label).toLowerCase();
  await adminQuery(`CREATE DATABASE ${name}`);
  const u = new URL(SERVER_DATABASE_URL);
  u.pathname = `/${name}`;
  return { url: u.toString(), name, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A unique key prefix on the test Redis; `drop()` deletes every key under it. */
export async function createTestRedisPrefix(label = 'slipway-t'): Promise<{ url: string; prefix: string; drop(): Promise<void> }> {
  const prefix = uniqueId(label);
  const probe = new Redis(SERVER_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`cannot reach Redis at ${SERVER_REDIS_URL}: ${(e as Error).message} (set REDIS_URL)`);
  } finally {
    probe.disconnect();
  }
  return {
    url: SERVER_REDIS_URL,
    prefix,
    async drop() {
      const r = new Redis(SERVER_REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
      r.disconnect();
    },
  };
}
