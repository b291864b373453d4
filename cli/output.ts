/** Human output: aligned tables and key/value blocks; `--json` prints the API's JSON instead. */
export type Print = (line: string) => void;

export function table(print: Print, headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  print(line(headers));
  print(line(widths.map((w) => '─'.repeat(w))));
  for (const r of cells) print(line(r));
}

export function keyValues(print: Print, title: string, pairs: [string, unknown][]): void {
  print(`=== ${title}`);
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  for (const [k, v] of pairs) print(`${(k + ':').padEnd(width)} ${v === null || v === undefined ? '' : String(v)}`);
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
