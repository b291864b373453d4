import pg from 'pg';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient | pg.Pool;

/** A pool for DATABASE_URL. Timestamps come back as Date, bigints as numbers (sizes stay far below 2^53). */
export function createDb(url: string, max = 10): Db {
  pg.types.setTypeParser(20, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  pool.on('error', () => {
    /* an idle client lost its connection; the next query reconnects */
  });
  return pool;
}

/** Runs fn in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** The Postgres error code of e, if it is one (23505 unique violation, …). */
export const pgCode = (e: unknown): string | undefined => (e as { code?: string } | null)?.code;
