/**
 * What the Deploy stage reads of the data plane: the dynos a release must have up (the formation's quantities for
 * its process types) and what the agents report of that release's dynos.
 */
import type { Db } from '../db/pool.js';

export interface ReportedDyno {
  name: string;
  type: string;
  state: string;
  started_at: Date | null;
  exit_code: number | null;
}

export function createDeployWatch(db: Db) {
  return {
    /** web.1 … web.N, worker.1 …: the formation of the release's process types, quantity above 0. */
    async expected(appId: string, processTypes: Record<string, string>): Promise<{ name: string; type: string }[]> {
      const types = Object.keys(processTypes).filter((t) => t !== 'release');
      const r = await db.query<{ type: string; quantity: number }>(
        'SELECT type, quantity FROM formation WHERE app_id = $1 AND quantity > 0 AND type = ANY($2::text[]) ORDER BY type', [appId, types]);
      return r.rows.flatMap((f) => Array.from({ length: f.quantity }, (_, i) => ({ name: `${f.type}.${i + 1}`, type: f.type })));
    },
    async reported(appId: string, releaseId: string): Promise<ReportedDyno[]> {
      return (await db.query<ReportedDyno>(
        'SELECT name, type, state, started_at, exit_code FROM dynos WHERE app_id = $1 AND release_id = $2 ORDER BY created_at', [appId, releaseId])).rows;
    },
  };
}

export type DeployWatch = ReturnType<typeof createDeployWatch>;
