/**
 * What a client asks of dynos, parsed at the edge: one-off dynos (POST /apps/{app}/dynos) and formation updates
 * (ps:scale). Past here the values are trusted.
 */
import { DYNO_SIZES, dynoSize } from '../../runner/index.js';
import { PROCESS_TYPE } from '../../buildpacks/index.js';
import { invalidParams } from '../errors.js';

export interface OneOffInput {
  command: string;
  attach: boolean;
  /** Attached on a pseudo-terminal. */
  tty?: boolean;
  size?: string;
  env?: Record<string, string>;
}

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;

/** POST /apps/{app}/dynos bodies: {command, attach, size, env}. */
export function parseOneOff(raw: unknown): OneOffInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidParams('Body must be {"command": "…", "attach": true}.');
  const b = raw as Record<string, unknown>;
  if (typeof b.command !== 'string' || !b.command.trim()) throw invalidParams('command is required: the command to run, e.g. "bash".');
  if (b.command.length > 10_000) throw invalidParams('command is longer than 10000 characters.');
  if (b.force_no_tty !== undefined && b.force_no_tty !== null && typeof b.force_no_tty !== 'boolean') throw invalidParams('force_no_tty must be true or false.');
  // As on Heroku, an attached dyno gets a terminal unless the client says it has none (force_no_tty).
  const out: OneOffInput = { command: b.command, attach: b.attach === true, tty: b.attach === true && b.force_no_tty !== true };
  if (b.size !== undefined && b.size !== null) {
    if (typeof b.size !== 'string' || !dynoSize(b.size)) throw invalidParams(`There is no dyno size ${JSON.stringify(b.size)}. Sizes: ${DYNO_SIZES.map((s) => s.name).join(', ')}.`);
    out.size = dynoSize(b.size)!.name;
  }
  if (b.env !== undefined && b.env !== null) {
    if (typeof b.env !== 'object' || Array.isArray(b.env)) throw invalidParams('env must be an object of names to strings.');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(b.env as Record<string, unknown>)) {
      if (!CONFIG_KEY.test(k)) throw invalidParams(`env name ${JSON.stringify(k).slice(0, 60)} is not valid (letters, digits, underscore).`);
      // The Heroku CLI sends a terminal's COLUMNS and LINES as numbers.
      if (typeof v === 'number' && Number.isFinite(v)) env[k] = String(v);
      else if (typeof v === 'string') env[k] = v;
      else throw invalidParams(`env ${k} must be a string.`);
    }
    out.env = env;
  }
  return out;
}

export interface FormationUpdate {
  type: string;
  quantity?: number;
  size?: string;
}

/** The most any one type may be scaled to at all; the platform's own limit (config) is usually lower. */
const MAX_QUANTITY = 10_000;

/** `web=3 worker=1:standard-2x` style bodies arrive as {updates: [...]} or, for one type, {quantity, size}. */
export function parseFormationUpdate(raw: unknown, type?: string): FormationUpdate {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidParams('Each formation update must be an object like {"type": "web", "quantity": 2}.');
  const b = raw as Record<string, unknown>;
  const t = type ?? b.type ?? b.process;
  if (typeof t !== 'string' || !PROCESS_TYPE.test(t) || t.length > 30) throw invalidParams(`"${String(t).slice(0, 40)}" is not a process type.`);
  const u: FormationUpdate = { type: t };
  if (b.quantity !== undefined) {
    const q = typeof b.quantity === 'string' && /^\d+$/.test(b.quantity) ? Number(b.quantity) : b.quantity;
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > MAX_QUANTITY) throw invalidParams(`quantity must be a whole number from 0 to ${MAX_QUANTITY}, got ${JSON.stringify(b.quantity)}.`);
    u.quantity = q;
  }
  if (b.size !== undefined) {
    if (typeof b.size !== 'string' || !dynoSize(b.size)) throw invalidParams(`There is no dyno size ${JSON.stringify(b.size)}. Sizes: ${DYNO_SIZES.map((s) => s.name).join(', ')}.`);
    u.size = dynoSize(b.size)!.name;
  }
  if (u.quantity === undefined && u.size === undefined) throw invalidParams('A formation update needs a quantity, a size or both.');
  return u;
}
