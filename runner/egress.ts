/**
 * An app's egress policy: what its dynos (and one-offs, and its release phase) may reach beyond the platform. Set by
 * an operator per app: `allow` (the default: anything but the host, link-local addresses and other apps' dynos,
 * which the host's rules refuse whatever the policy), `deny` (nothing), or `allowlist` (CIDRs, optionally with
 * ports). Builds get a policy of their own (buildEgressRuleset): the app's, with the package registries always open
 * and the private ranges always closed. Enforced in the dyno's own network namespace (its OUTPUT chain, loaded atomically with iptables-restore
 * before the dyno starts): the dyno has no capability to change it, and the rules go with the namespace.
 */
import { spawn } from 'node:child_process';
import { assertNetnsName } from './network.js';

export interface EgressRule {
  /** An IPv4 network, e.g. 10.1.0.0/16 (a lone address is /32). */
  cidr: string;
  /** TCP and UDP destination ports; none: every port. */
  ports?: number[];
}

export type EgressPolicy = { policy: 'allow' } | { policy: 'deny' } | { policy: 'allowlist'; rules: EgressRule[] };

export const ALLOW_ALL: EgressPolicy = { policy: 'allow' };

const MAX_RULES = 64;

function parseCidr(v: unknown): string {
  const m = typeof v === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v) : null;
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) {
    throw new Error(`not an IPv4 address or CIDR: ${JSON.stringify(v)?.slice(0, 60)}`);
  }
  return `${m.slice(1, 5).map(Number).join('.')}/${m[5] ?? 32}`;
}

function parsePorts(v: unknown): number[] | undefined {
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

/** The iptables-restore input for a dyno's namespace; undefined for `allow` (nothing to load). */
export function egressRuleset(p: EgressPolicy, subnet: string): string | undefined {
  if (p.policy === 'allow') return undefined;
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
    '-A OUTPUT -o lo -j ACCEPT',
    // Replies to whoever connected to the dyno (the router), and the dyno network (its own app's dynos; the host's
    // rules refuse the rest of it).
    '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    `-A OUTPUT -d ${parseCidr(subnet)} -j ACCEPT`];
  if (p.policy === 'allowlist') lines.push(...acceptLines(p.rules));
  lines.push(...REJECT_REST, 'COMMIT', '');
  return lines.join('\n');
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

const acceptLines = (rules: EgressRule[]) => rules.flatMap((r) => (!r.ports
  ? [`-A OUTPUT -d ${parseCidr(r.cidr)} -j ACCEPT`]
  : ['tcp', 'udp'].map((proto) => `-A OUTPUT -d ${parseCidr(r.cidr)} -p ${proto} -m multiport --dports ${parsePorts(r.ports)!.join(',')} -j ACCEPT`)));

const REJECT_REST = ['-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset', '-A OUTPUT -j REJECT --reject-with icmp-port-unreachable'];

/** The iptables-restore input for a build step's namespace. */
export function buildEgressRuleset(b: BuildEgress): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
    '-A OUTPUT -o lo -j ACCEPT', '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    ...acceptLines(b.always), ...(b.app.policy === 'allowlist' ? acceptLines(b.app.rules) : [])];
  for (const cidr of PRIVATE_RANGES) lines.push(`-A OUTPUT -d ${cidr} -p tcp -j REJECT --reject-with tcp-reset`, `-A OUTPUT -d ${cidr} -j REJECT --reject-with icmp-port-unreachable`);
  lines.push(...(b.app.policy === 'allow' ? ['-A OUTPUT -j ACCEPT'] : REJECT_REST), 'COMMIT', '');
  return lines.join('\n');
}

/** Loads the policy into the network namespace `netns` (a Slipway-made one), before anything runs in it. */
export async function applyEgress(netns: string, p: EgressPolicy | BuildEgress, subnet: string): Promise<void> {
  const rules = 'always' in p ? buildEgressRuleset(p) : egressRuleset(p, subnet);
  if (!rules) return;
  assertNetnsName(netns);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, 'iptables-restore', '-w', '5'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the egress policy could not be loaded: ${err.trim().slice(0, 300)}`))));
    child.stdin.on('error', () => undefined); // EPIPE when it exits unread: the close handler reports it
    child.stdin.end(rules);
  });
}
