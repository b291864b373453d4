/**
 * Where a custom domain points, as the resolvers the operator names say (SLIPWAY_DNS_SERVERS, else the system's):
 * an automatic certificate is ordered for a name only once it resolves to an address its app's DNS target
 * (APP.BASE_DOMAIN) resolves to. The CA would refuse the order anyway; asking it first spends the rate limits of the
 * platform's one ACME account, which every app shares.
 */
import { Resolver } from 'node:dns/promises';

export interface DomainDns {
  /** Undefined when hostname resolves to an address target resolves to; else why not, as the domain's status says. */
  notPointing(hostname: string, target: string): Promise<string | undefined>;
}

export function createDomainDns(o: { servers?: string[]; timeoutMs?: number } = {}): DomainDns {
  const resolver = new Resolver({ timeout: o.timeoutMs ?? 2000, tries: 2 });
  if (o.servers?.length) resolver.setServers(o.servers);
  const addresses = async (name: string): Promise<string[]> => {
    const [v4, v6] = await Promise.all([resolver.resolve4(name).catch(() => []), resolver.resolve6(name).catch(() => [])]);
    return [...v4, ...v6];
  };
  return {
    async notPointing(hostname, target) {
      const [mine, platform] = await Promise.all([addresses(hostname), addresses(target)]);
      if (platform.length === 0) return `the DNS target ${target} does not resolve: no certificate is ordered until it does`;
      if (mine.length === 0) return `${hostname} does not resolve yet: point it at ${target} (a CNAME record, or ALIAS/ANAME at a zone's apex)`;
      if (!mine.some((a) => platform.includes(a))) return `${hostname} resolves to ${mine.slice(0, 3).join(', ')}, not to the platform: point it at ${target}`;
      return undefined;
    },
  };
}
