/**
 * One app's turn at a stage (its build, its release phase, its deploy, its push), across every process: a session
 * advisory lock on a connection of its own, never a pooled client, so a job waiting for its turn, or running a
 * tenant's build or release phase in it, holds nothing the other jobs need. Dropped with the connection if the
 * holder dies.
 */
import pg from 'pg';

export interface Turn {
  end(): Promise<void>;
}

/** Takes the turn named by key; onWait is called once if another holder has it first. */
export type TakeTurn = (key: string, onWait?: () => void) => Promise<Turn>;

export function turnTaker(databaseUrl: string): TakeTurn {
  return async (key, onWait) => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // a lost connection ends the turn; the holder's next query says so
    try {
      await client.connect();
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (!got.rows[0]!.ok) {
        onWait?.();
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      }
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return { end: () => client.end().catch(() => undefined) };
  };
}

/** A turn taken only if free at once (undefined: another holder has it), e.g. one pass of a job across processes. */
export type TryTurn = (key: string) => Promise<Turn | undefined>;

export function tryTurnTaker(databaseUrl: string): TryTurn {
  return async (key) => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (got.rows[0]!.ok) return { end: () => client.end().catch(() => undefined) };
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    await client.end().catch(() => undefined);
    return undefined;
  };
}
