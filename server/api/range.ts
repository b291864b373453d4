/**
 * Heroku's list ranges: `Range: name ..; order=desc, max=10` or `id ]abc..; max=1000`.
 * A page smaller than the whole list answers 206 WITH a Next-Range header; everything else is 200
 * (a bare 206 makes the Heroku CLI ask again forever).
 */
import type { Request, Response } from 'express';
import { badRequest } from '../errors.js';

export interface RangeSpec {
  field: string;
  start?: string;
  startExclusive: boolean;
  order: 'asc' | 'desc';
  max: number;
}

const DEFAULT_MAX = 200;
const HARD_MAX = 1000;

export function parseRange(header: string | undefined, fields: readonly string[], defaultField: string): RangeSpec {
  const spec: RangeSpec = { field: defaultField, startExclusive: false, order: 'asc', max: DEFAULT_MAX };
  if (!header) return spec;
  const m = /^\s*([a-z_]+)\s*(?:(\]?)([^.;\s]*)\.\.([^;\s]*))?\s*(?:;(.*))?$/.exec(header);
  if (!m) throw badRequest(`Invalid Range header "${header.slice(0, 100)}".`);
  const [, field, exclusive, start, , opts] = m;
  if (!fields.includes(field)) throw badRequest(`Range field must be one of: ${fields.join(', ')}.`);
  spec.field = field;
  spec.startExclusive = exclusive === ']';
  if (start) spec.start = start;
  for (const opt of (opts ?? '').split(/[,;]/)) {
    const [k, v] = opt.split('=').map((s) => s.trim());
    if (!k) continue;
    if (k === 'order' && (v === 'asc' || v === 'desc')) spec.order = v;
    else if (k === 'max' && /^\d+$/.test(v ?? '')) spec.max = Math.min(HARD_MAX, Math.max(1, Number(v)));
  }
  return spec;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

/** Sorts, slices and sends a list with the Range semantics above. */
export function sendRange<T extends Record<string, unknown>>(req: Request, res: Response, items: T[], fields: readonly string[], defaultField: string): void {
  const spec = parseRange(req.get('range'), fields, defaultField);
  const key = (item: T) => {
    const v = item[spec.field];
    return typeof v === 'number' ? v : String(v ?? '');
  };
  const sorted = [...items].sort((a, b) => compare(key(a), key(b)) * (spec.order === 'desc' ? -1 : 1));
  let from = 0;
  if (spec.start !== undefined) {
    const start = /^\d+$/.test(spec.start) && typeof key(sorted[0] ?? ({} as T)) === 'number' ? Number(spec.start) : spec.start;
    from = sorted.findIndex((item) => {
      const c = compare(key(item), start) * (spec.order === 'desc' ? -1 : 1);
      return spec.startExclusive ? c > 0 : c >= 0;
    });
    if (from < 0) from = sorted.length;
  }
  const page = sorted.slice(from, from + spec.max);
  const more = from + spec.max < sorted.length;
  if (more && page.length > 0) {
    const last = key(page[page.length - 1]);
    res.status(206).set('Next-Range', `${spec.field} ]${last}..; order=${spec.order}, max=${spec.max}`);
  } else {
    res.status(200);
  }
  res.set('Accept-Ranges', fields.join(', '));
  res.json(page);
}
