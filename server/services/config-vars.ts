import type { Db } from '../db/pool.js';
import type { App } from './apps.js';

/** An app's config vars (the values releases copy). Setting them, with a new release, comes with the workflow API. */
export function createConfigVarService(db: Db) {
  return {
    async get(app: App): Promise<Record<string, string>> {
      const r = await db.query<{ key: string; value: string }>('SELECT key, value FROM config_vars WHERE app_id = $1 ORDER BY key', [app.id]);
      return Object.fromEntries(r.rows.map((row) => [row.key, row.value]));
    },
  };
}

export type ConfigVarService = ReturnType<typeof createConfigVarService>;
