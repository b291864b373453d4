/** Pure formatting helpers (no DOM): times, sizes, figures. */

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function since(iso: string | null | undefined, now = Date.now()): string {
  return iso ? duration(now - Date.parse(iso)) : '—';
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function localTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** One stats sample of a dyno, as the dashboard keeps it for its chart. */
export interface Sample {
  at: number;
  memoryBytes: number | null;
  cpuSeconds: number | null;
}

/** CPU use (percent of one core) between consecutive samples; null where a pair is missing. */
export function cpuPercents(samples: Sample[]): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = (b.at - a.at) / 1000;
    out.push(a.cpuSeconds === null || b.cpuSeconds === null || dt <= 0 ? null : Math.max(0, ((b.cpuSeconds - a.cpuSeconds) / dt) * 100));
  }
  return out;
}

/** An SVG polyline's points for values in a w×h box (nulls are skipped); max sets the top (at least the largest value). */
export function sparkPoints(values: (number | null)[], w: number, h: number, max?: number): string {
  const nums = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (nums.length === 0) return '';
  const top = Math.max(max ?? 0, ...nums) || 1;
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  return values
    .map((v, i) => (v === null || !Number.isFinite(v) ? null : `${(i * step).toFixed(1)},${(h - (v / top) * h).toFixed(1)}`))
    .filter((p): p is string => p !== null)
    .join(' ');
}

/** A one-line summary of dyno counts, e.g. "2 up · 1 crashed". */
export function dynoSummary(d: Partial<Record<string, number>> | undefined): string {
  if (!d) return '—';
  const parts = (['up', 'starting', 'crashed', 'stopping'] as const).filter((k) => (d[k] ?? 0) > 0).map((k) => `${d[k]} ${k}`);
  return parts.length ? parts.join(' · ') : 'no dynos';
}
