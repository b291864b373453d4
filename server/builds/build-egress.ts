/**
 * What every build step with the network may reach whatever its app's egress policy (platform/egress.ts, BuildEgress):
 * the package registry buildpacks fetch node, npm and packages from (SLIPWAY_NPM_REGISTRY: its addresses as resolved
 * when the build starts, ports 443 and 80, or the port its URL names), the resolvers builds use (the host's
 * /etc/resolv.conf, port 53) and the private ranges the operator opens (SLIPWAY_OUTBOUND_ALLOW, every port).
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import type { BuildEgress, EgressPolicy, EgressRule } from '../../platform/egress.js';

/** The IPv4 nameservers a resolv.conf names. */
export function nameservers(resolvConf: string): string[] {
  return resolvConf.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((a): a is string => !!a && isIPv4(a));
}

async function registryRules(registry: string): Promise<EgressRule[]> {
  let url: URL;
  try {
    url = new URL(registry);
  } catch {
    return [];
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ports = url.port ? [Number(url.port)] : [443, 80];
  const addresses = isIPv4(host) ? [host] : (await lookup(host, { all: true, family: 4 }).catch(() => [])).map((a) => a.address);
  return addresses.map((a) => ({ cidr: `${a}/32`, ports }));
}

export async function buildEgress(app: EgressPolicy, o: { npmRegistry: string; outboundAllow: string[]; resolvConf?: string }): Promise<BuildEgress> {
  const resolvers = nameservers(await readFile(o.resolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => ''));
  return {
    app,
    always: [
      ...(await registryRules(o.npmRegistry)),
      ...resolvers.map((a) => ({ cidr: `${a}/32`, ports: [53] })),
      ...o.outboundAllow.map((cidr) => ({ cidr })),
    ],
  };
}
