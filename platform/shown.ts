/** A printable, short form of a tenant's path or name for messages (never more than the offending name). */
export function shown(path: string, max = 120): string {
  const s = JSON.stringify(path);
  return s.length > max ? `${s.slice(0, max)}…"` : s;
}
