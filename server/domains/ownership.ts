/**
 * Proof that whoever adds a custom domain controls its DNS (SLIPWAY_DOMAIN_VERIFICATION=txt): a TXT record
 * `_slipway-challenge.NAME` holding `slipway-verification=TOKEN`, where TOKEN is fixed for the app and the name (so
 * it can be published before the domain is added, and it names no secret). A wildcard `*.NAME` is proved by NAME's
 * record. Looked up through the resolvers the operator names (SLIPWAY_DNS_SERVERS), else the system's.
 */
import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { invalidParams } from '../errors.js';

export interface OwnershipCheck {
  /** Resolves when appId may claim hostname; else a 422 saying which record to publish. */
  verify(appId: string, hostname: string): Promise<void>;
}

export const challengeRecord = (hostname: string) => `_slipway-challenge.${hostname.replace(/^\*\./, '')}`;
export const challengeValue = (appId: string, hostname: string) =>
  `slipway-verification=${createHash('sha256').update(`slipway-domain:${appId}:${hostname.replace(/^\*\./, '')}`).digest('hex').slice(0, 32)}`;

export function createTxtOwnership(o: { servers?: string[]; timeoutMs?: number } = {}): OwnershipCheck {
  const resolver = new Resolver({ timeout: o.timeoutMs ?? 2000, tries: 2 });
  if (o.servers?.length) resolver.setServers(o.servers);
  return {
    async verify(appId, hostname) {
      const record = challengeRecord(hostname);
      const value = challengeValue(appId, hostname);
      let found: string[] = [];
      let why = '';
      try {
        found = (await resolver.resolveTxt(record)).map((chunks) => chunks.join(''));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        why = code === 'ENOTFOUND' || code === 'ENODATA' ? 'there is no such record yet' : `looking it up failed: ${code}`;
      }
      if (found.includes(value)) return;
      if (!why) why = found.length ? 'the record holds other values' : 'the record is empty';
      throw invalidParams(`Prove that you control ${hostname.replace(/^\*\./, '')}: add a DNS TXT record ${record} with the value "${value}", then add the domain again (${why}).`);
    },
  };
}

/** No check: any app may claim a free name (the default; SLIPWAY_DOMAIN_VERIFICATION=off). */
export const noOwnershipCheck: OwnershipCheck = { verify: async () => undefined };
