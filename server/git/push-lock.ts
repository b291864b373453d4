/**
 * One push per app at a time, from its pre-receive hook until git has updated (or refused) the ref. Without it two
 * racing pushes both build and release, and then git refuses the later ref update: a release whose commit is not
 * on the branch.
 *
 * Pushes waiting in this process queue here without touching the database; the one whose turn it is also takes the
 * app's push turn (an advisory lock on a connection of its own, server/db/turn.ts), so the turn holds across api
 * processes, frees itself if the holder dies, and a push building for minutes holds no pooled client.
 */
import type { TakeTurn } from '../db/turn.js';

export type Unlock = () => Promise<void>;

export function createPushLocks(takeTurn: TakeTurn) {
  const tails = new Map<string, Promise<void>>();

  async function advisory(appId: string, onWait: () => void, waited: boolean): Promise<Unlock> {
    const turn = await takeTurn(`push:${appId}`, waited ? undefined : onWait);
    return () => turn.end();
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
