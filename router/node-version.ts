/**
 * The Node versions the router may run on: none with the HTTP/2 flaws a client can use to exhaust a server (rapid
 * reset, CVE-2023-44487, fixed in 20.8.1; CONTINUATION flood, CVE-2024-27983, fixed in 20.12.1 and 21.7.2; 22 and later
 * had both fixes from their first release). package.json's engines field says the same.
 */
const FIXED_IN: Record<number, [number, number]> = { 20: [12, 1], 21: [7, 2] };

/** Why this Node must not serve the router's edge, or undefined when it may. */
export function nodeVersionProblem(version: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return `cannot read the Node version "${version.slice(0, 40)}"`;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major >= 22) return undefined;
  const fixed = FIXED_IN[major];
  if (fixed && (minor > fixed[0] || (minor === fixed[0] && patch >= fixed[1]))) return undefined;
  const need = fixed ? `${major}.${fixed[0]}.${fixed[1]}` : '20.12.1';
  return `Node ${major}.${minor}.${patch} has HTTP/2 flaws a client can use to exhaust the router (rapid reset, CONTINUATION flood): use Node ${need} or later`;
}
