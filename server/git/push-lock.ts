/**
 * One push per app at a time, from its pre-receive hook until git has updated (or refused) the ref. Without it two
 * racing pushes both build and release, and then git refuses the later ref update: a release whose commit is not
 * on the branch.
 *
 * Pushes waiting in this process queue here without touching the database; the one whose turn it is also takes a
 * session advisory lock in PostgreSQL, so the turn holds across api processes and frees itself if the holder dies.
 * So an app with pushes in flight costs one database connection, however many are waiting.
 */
import type { Pool } from 'pg';

export type Unlock = () => Promise<void>;

export function createPushLocks(db: Pool) {
  const tails = new Map<string, Promise<void>>();

  async function advisory(appId: string, onWait: () => void, waited: boolean): Promise<Unlock> {
    const client = await db.connect();
    const key = `push:${appId}`;
    try {
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (!got.rows[0]!.ok) {
        if (!waited) onWait();
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      }
    } catch (e) {
      client.release(true);
      throw e;
    }
    return async () => {
      try {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        client.release();
      } catch {
        client.release(true); // a broken connection drops the lock with it
      }
    };
  }

  return {
    /** Waits for the app's turn (calling onWait once if it has to wait); the returned unlock ends the turn. */
    async lock(appId: string, onWait: () => void): Promise<Unlock> {
      const before = tails.get(appId);
      let endTurn!: () => void;
      const turn = new Promise<void>((r) => (endTurn = r));
      const tail = (before ?? Promise.resolve()).then(() => turn);
      tails.set(appId, tail);
      const finish = () => {
        endTurn();
        if (tails.get(appId) === tail) tails.delete(appId);
      };
      if (before) {
        onWait();
        await before;
      }
      let unlockDb: Unlock;
      try {
        unlockDb = await advisory(appId, onWait, before !== undefined);
      } catch (e) {
        finish();
        throw e;
      }
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        await unlockDb();
        finish();
      };
    },
  };
}

export type PushLocks = ReturnType<typeof createPushLocks>;
