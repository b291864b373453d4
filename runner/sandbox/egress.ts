/**
 * An app's egress policy (platform/egress.ts) enforced: in the dyno's own network namespace, its OUTPUT chain loaded
 * atomically with iptables-restore before the dyno starts (the dyno has no capability to change it, and the rules go
 * with the namespace); a build step's policy (the app's, the registries always open, the private ranges always
 * closed) the same way in the step's namespace.
 */
import { spawn } from 'node:child_process';
import { assertNetnsName } from './network.js';
import { parseCidr, parsePorts, PRIVATE_RANGES, type BuildEgress, type EgressPolicy, type EgressRule } from '../../platform/egress.js';

const acceptLines = (rules: EgressRule[]) => rules.flatMap((r) => (!r.ports
  ? [`-A OUTPUT -d ${parseCidr(r.cidr)} -j ACCEPT`]
  : ['tcp', 'udp'].map((proto) => `-A OUTPUT -d ${parseCidr(r.cidr)} -p ${proto} -m multiport --dports ${parsePorts(r.ports)!.join(',')} -j ACCEPT`)));

const REJECT_REST = ['-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset', '-A OUTPUT -j REJECT --reject-with icmp-port-unreachable'];

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
