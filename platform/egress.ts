/**
 * An app's egress policy, as words and JSON: what its dynos (and one-offs, and its release phase) may reach beyond
 * the platform — `allow` (anything but the host, link-local addresses and other apps' dynos), `deny`, or an
 * `allowlist` of CIDRs with optional ports — and what its builds may (BuildEgress). Pure: runner/sandbox/egress.ts turns
 * them into rules in a network namespace.
 */
export interface EgressRule {
  /** An IPv4 network, e.g. 10.1.0.0/16 (a lone address is /32). */
  cidr: string;
  /** TCP and UDP destination ports; none: every port. */
  ports?: number[];
}

export type EgressPolicy = { policy: 'allow' } | { policy: 'deny' } | { policy: 'allowlist'; rules: EgressRule[] };

export const ALLOW_ALL: EgressPolicy = { policy: 'allow' };

const MAX_RULES = 64;

export function parseCidr(v: unknown): string {
  const m = typeof v === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v) : null;
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) {
    throw new Error(`not an IPv4 address or CIDR: ${JSON.stringify(v)?.slice(0, 60)}`);
  }
  return `${m.slice(1, 5).map(Number).join('.')}/${m[5] ?? 32}`;
}

export function parsePorts(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > 15) throw new Error('ports must be a list of 1 to 15 port numbers');
  return v.map((p) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`not a port: ${JSON.stringify(p)?.slice(0, 20)}`);
    return p as number;
  });
}

/** A policy from the API's JSON; throws naming what is wrong. */
export function parseEgressPolicy(input: unknown): EgressPolicy {
  const o = (input ?? {}) as { policy?: unknown; rules?: unknown };
  if (o.policy === 'allow' || o.policy === 'deny') return { policy: o.policy };
  if (o.policy !== 'allowlist') throw new Error('policy must be allow, deny or allowlist');
  if (!Array.isArray(o.rules) || o.rules.length === 0) throw new Error('an allowlist needs rules: [{"cidr": "10.0.0.0/8", "ports": [5432]}]');
  if (o.rules.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} rules`);
  return {
    policy: 'allowlist',
    rules: o.rules.map((r: { cidr?: unknown; ports?: unknown }) => {
      const ports = parsePorts(r?.ports);
      return { cidr: parseCidr(r?.cidr), ...(ports ? { ports } : {}) };
    }),
  };
}

/** The CLI's words: `allow`, `deny`, or `CIDR[:PORT[,PORT…]]` …; throws naming the word it cannot read. */
export function egressFromWords(words: string[]): EgressPolicy {
  if (words.length === 1 && (words[0] === 'allow' || words[0] === 'deny')) return { policy: words[0] };
  return parseEgressPolicy({
    policy: 'allowlist',
    rules: words.map((w) => {
      const [cidr, ports] = w.split(':');
      return { cidr, ...(ports ? { ports: ports.split(',').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) } : {}) };
    }),
  });
}

/** One line per rule, as `egress` prints it. */
export function describeEgress(p: EgressPolicy): string[] {
  if (p.policy !== 'allowlist') return [p.policy === 'allow' ? 'allow: anything outside the platform' : 'deny: nothing outside the platform'];
  return ['allowlist:', ...p.rules.map((r) => `  ${r.cidr}${r.ports ? ` ports ${r.ports.join(',')}` : ' all ports'}`)];
}

/**
 * Ranges a build step never reaches unless the operator allows them (SLIPWAY_OUTBOUND_ALLOW) or the app's own
 * allowlist names them: the operator's private networks, carrier-grade NAT, link-local (a cloud's metadata service).
 */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

/**
 * What a build step (bin/compile, a buildpack's git clone: tenant code with the network) may reach: what every build
 * needs whatever the app's policy (the package registries, the resolvers, what the operator allows), then the app's
 * own policy, never the private ranges an `allow` would otherwise open.
 */
export interface BuildEgress {
  app: EgressPolicy;
  always: EgressRule[];
}
