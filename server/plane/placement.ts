/**
 * Placement: each dyno of a formation (app, process type, index: web.2) is placed on one live agent, and an agent
 * runs only the dynos placed on it. A dyno without a placement, or placed on an agent that is no longer live
 * (agents.ts: down, or silent for a minute), goes to the live agent with the fewest dynos; placements beyond a
 * formation's quantity go away. One host has one agent, so there everything is placed on it; with more hosts the
 * dynos spread and move off a host that died. (A host that is only cut off keeps running its dynos until it
 * notices: placement is at least once, not at most once.)
 */
import { withTransaction, type Db, type DbClient } from '../db/pool.js';
import { liveAgent } from './agents.js';

/** Slots that need an agent: within a formation's quantity and not placed on a live agent. */
const UNPLACED = `
  SELECT f.app_id, f.type, g.idx
    FROM formation f CROSS JOIN LATERAL generate_series(1, f.quantity) AS g(idx)
    LEFT JOIN placements p ON p.app_id = f.app_id AND p.type = f.type AND p.idx = g.idx
    LEFT JOIN agents a ON a.id = p.agent_id AND ${liveAgent('a')}
   WHERE f.quantity > 0 AND a.id IS NULL`;
/** Placements p beyond its formation's quantity (scaled down, or the type is gone). */
const BEYOND = 'NOT EXISTS (SELECT 1 FROM formation f WHERE f.app_id = p.app_id AND f.type = p.type AND p.idx <= f.quantity)';

async function assign(tx: DbClient): Promise<number> {
  await tx.query(`DELETE FROM placements p WHERE ${BEYOND}`);
  const slots = (await tx.query<{ app_id: string; type: string; idx: number }>(UNPLACED)).rows;
  if (!slots.length) return 0;
  const load = new Map((await tx.query<{ id: string; n: number }>(
    `SELECT a.id, count(p.agent_id)::int AS n FROM agents a LEFT JOIN placements p ON p.agent_id = a.id
      WHERE ${liveAgent('a')} GROUP BY a.id, a.memory_free ORDER BY a.memory_free DESC NULLS LAST`)).rows.map((r) => [r.id, r.n]));
  if (!load.size) return 0; // no live agent: the slots wait for one
  for (const s of slots) {
    const [agent] = [...load.entries()].reduce((best, e) => (e[1] < best[1] ? e : best));
    await tx.query(
      `INSERT INTO placements (app_id, type, idx, agent_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (app_id, type, idx) DO UPDATE SET agent_id = $4, placed_at = now()`, [s.app_id, s.type, s.idx, agent]);
    load.set(agent, load.get(agent)! + 1);
  }
  return slots.length;
}

export function createPlacement(db: Db) {
  return {
    /**
     * Places what needs placing (a cheap check first; the work under one lock, so two agents never place the same
     * slot twice), then the slots placed on agentId, as `appId/type/index`.
     */
    async placedOn(agentId: string): Promise<Set<string>> {
      const stale = await db.query(`SELECT 1 FROM (${UNPLACED}) u UNION ALL SELECT 1 FROM placements p WHERE ${BEYOND} LIMIT 1`);
      if (stale.rows.length) {
        await withTransaction(db, async (tx) => {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext('slipway:placement'))`);
          await assign(tx);
        });
      }
      const mine = await db.query<{ app_id: string; type: string; idx: number }>('SELECT app_id, type, idx FROM placements WHERE agent_id = $1', [agentId]);
      return new Set(mine.rows.map((r) => slotKey(r.app_id, r.type, r.idx)));
    },
  };
}

export const slotKey = (appId: string, type: string, index: number) => `${appId}/${type}/${index}`;
