/**
 * One app's turn at a stage (its build, its release phase, its deploy), across every worker: a session advisory
 * lock on a connection of its own, never a pooled client, so a job waiting for its turn, or running a tenant's
 * release phase in it, holds nothing the other jobs need. Dropped with the connection if the holder dies.
 */
import pg from 'pg';

export interface Turn {
  end(): Promise<void>;
}

export type TakeTurn = (key: string) => Promise<Turn>;

export function turnTaker(databaseUrl: string): TakeTurn {
  return async (key) => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // a lost connection ends the turn; the holder's next query says so
    try {
      await client.connect();
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return { end: () => client.end().catch(() => undefined) };
  };
}
