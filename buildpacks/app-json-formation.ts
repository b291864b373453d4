/**
 * app.json's `formation` (Heroku's app manifest): the quantity and size of each process type on its first deploy,
 * `{"web": {"quantity": 2, "size": "standard-2x"}, "worker": {"quantity": 1}}`. Anything malformed is a build error
 * naming the field (a scale the app did not ask for is worse than a failed push).
 */
import { BuildError } from './errors.js';
import { PROCESS_TYPE } from './procfile.js';
import { dynoSize } from '../platform/sizes.js';

export type FormationDefaults = Record<string, { quantity?: number; size?: string }>;

const MAX_QUANTITY = 100;

export function parseFormation(raw: unknown): FormationDefaults {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new BuildError('app.json: formation must be an object of process types, e.g. {"web": {"quantity": 1}}.');
  const out: FormationDefaults = {};
  for (const [type, v] of Object.entries(raw as Record<string, unknown>)) {
    const where = `app.json: formation.${type.slice(0, 40)}`;
    if (!PROCESS_TYPE.test(type) || type.length > 30) throw new BuildError(`${where}: not a process type name.`);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BuildError(`${where} must be an object with quantity and/or size.`);
    const { quantity, size } = v as { quantity?: unknown; size?: unknown };
    if (quantity !== undefined && (!Number.isInteger(quantity) || (quantity as number) < 0 || (quantity as number) > MAX_QUANTITY)) {
      throw new BuildError(`${where}.quantity must be a whole number from 0 to ${MAX_QUANTITY}.`);
    }
    const known = typeof size === 'string' ? dynoSize(size) : undefined;
    if (size !== undefined && !known) throw new BuildError(`${where}.size is not a dyno size (${String(size).slice(0, 30)}); see GET /dyno-sizes.`);
    out[type] = { ...(quantity !== undefined ? { quantity: quantity as number } : {}), ...(known ? { size: known.name } : {}) };
  }
  return out;
}
