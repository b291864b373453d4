import type { Db } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { AppError, invalidParams } from '../errors.js';
import type { App } from '../apps/service.js';
import type { Release, ReleaseService } from '../releases/service.js';
import { currentReleaseId } from '../plane/current-release.js';
import { configHealthcheck, HEALTHCHECK_VARS } from '../../platform/health-check.js';

export const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_CONFIG_BYTES = 32 * 1024;

/** Validates a PATCH body at the edge: keys by Heroku's rule, values strings (null unsets). */
export function parseConfigPatch(body: unknown): Record<string, string | null> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidParams('Body must be a JSON object of config vars, like {"KEY": "value", "OTHER": null}.');
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!CONFIG_KEY.test(k) || k.length > 200) throw invalidParams(`Invalid config var name "${k.slice(0, 60)}": use letters, digits and underscores, not starting with a digit.`);
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw invalidParams(`The value of ${k} must be a string (or null to unset it).`);
    out[k] = v === null ? null : String(v);
    if (out[k] !== null && k in HEALTHCHECK_VARS) {
      const [problem] = configHealthcheck({ SLIPWAY_HEALTHCHECK_PATH: '/', [k]: out[k]! }).problems;
      if (problem) throw invalidParams(`${problem}, got "${out[k]!.slice(0, 60)}".`);
    }
  }
  if (Object.keys(out).length === 0) throw invalidParams('No config vars given.');
  return out;
}

/** "Set A, B config vars" / "Remove A config vars", as Heroku describes such releases. */
export function describeChange(patch: Record<string, string | null>): string {
  const set = Object.keys(patch).filter((k) => patch[k] !== null);
  const unset = Object.keys(patch).filter((k) => patch[k] === null);
  return [set.length ? `Set ${set.join(', ')} config vars` : '', unset.length ? `Remove ${unset.join(', ')} config vars` : ''].filter(Boolean).join('; ');
}

/** An app's config vars. A change makes a new release (same slug and process types, the new config). */
export function createConfigVarService(db: Db, releases?: ReleaseService) {
  return {
    async get(app: App): Promise<Record<string, string>> {
      const r = await db.query<{ key: string; value: string }>('SELECT key, value FROM config_vars WHERE app_id = $1 ORDER BY key', [app.id]);
      return Object.fromEntries(r.rows.map((row) => [row.key, row.value]));
    },

    /** Sets what is not set yet, without a release (app.json's env on a first deploy, whose release follows). */
    async setDefaults(app: App, vars: Record<string, string>): Promise<void> {
      for (const [k, v] of Object.entries(vars)) {
        await db.query('INSERT INTO config_vars (app_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (app_id, key) DO NOTHING', [app.id, k, v]);
      }
    },

    async update(app: App, patch: Record<string, string | null>, userId: string): Promise<{ config: Record<string, string>; release: Release }> {
      if (!releases) throw new Error('config var changes need the release service');
      const result = await withTransaction(db, async (tx) => {
        await tx.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [app.id]);
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) await tx.query('DELETE FROM config_vars WHERE app_id = $1 AND key = $2', [app.id, k]);
          else await tx.query(`INSERT INTO config_vars (app_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (app_id, key) DO UPDATE SET value = $3, updated_at = now()`, [app.id, k, v]);
        }
        const rows = (await tx.query<{ key: string; value: string }>('SELECT key, value FROM config_vars WHERE app_id = $1 ORDER BY key', [app.id])).rows;
        const config = Object.fromEntries(rows.map((r) => [r.key, r.value]));
        const size = rows.reduce((n, r) => n + Buffer.byteLength(r.key) + Buffer.byteLength(r.value), 0);
        if (size > MAX_CONFIG_BYTES) throw new AppError('request_too_large', `Config vars of an app may total ${MAX_CONFIG_BYTES / 1024} KB; this change makes ${Math.ceil(size / 1024)} KB.`, 413);
        const current = (await tx.query(`SELECT slug_id, process_types FROM releases WHERE id = ${currentReleaseId('$1')}`, [app.id])).rows[0];
        // With code, the release runs its release phase and is deployed (verified) before it counts; without, it
        // has nothing to run and counts at once.
        const release = await releases.create(app, {
          slugId: current?.slug_id ?? null, processTypes: current?.process_types ?? {}, config, description: describeChange(patch), userId,
          status: current?.slug_id ? 'pending' : 'succeeded',
        }, tx);
        return { config, release };
      });
      await releases.started(result.release);
      return result;
    },
  };
}

export type ConfigVarService = ReturnType<typeof createConfigVarService>;
