/**
 * Issues and renews automatic certificates (certs:auto) with ACME (RFC 8555) through acme-client, in the worker
 * role: every check interval, for the custom domains of apps with ACM on that have no certificate or one with under
 * 30 days left, an order with an HTTP-01 challenge that the routers answer (the challenge is stored, the app's
 * routes reload, and the CA is told once every live router serves it). A failure is kept on the domain with the
 * CA's reason and tried again after a backoff; after five in a row the domain waits for certs:auto:refresh. One
 * worker issues at a time (an advisory lock on a connection of its own, never a pooled client held through a pass
 * that waits on the CA), so several workers never order the same name twice.
 *
 * Nothing is asked of the CA for a name until it resolves to the platform (its app's DNS target, APP.BASE_DOMAIN)
 * and, with domain verification on (SLIPWAY_DOMAIN_VERIFICATION acm, the default, or txt), until the app has proved
 * it controls it (its TXT record): a tenant cannot get a certificate for a name it merely claimed, and names that
 * cannot pass spend none of the platform's ACME rate limits. Each order sent is counted against its app's hourly cap.
 */
import * as acme from 'acme-client';
import type { Logger } from '../log.js';
import type { AcmService, DueDomain } from './acm.js';
import type { SniEndpointService } from './sni-endpoints.js';
import type { DomainDns } from '../domains/dns.js';
import type { OwnershipCheck } from '../domains/ownership.js';
import type { TryTurn } from '../db/turn.js';

export interface AcmeIssuerOptions {
  acm: AcmService;
  sniEndpoints: SniEndpointService;
  directoryUrl: string;
  email?: string;
  /** One issuer's pass at a time across the platform (a turn on a connection of its own, db/turn.ts). */
  tryTurn: TryTurn;
  /** Resolves once every live router serves the app's current routes (its new challenge). */
  routesApplied(appId: string): Promise<unknown>;
  /** The first retry's wait; later ones grow fourfold. */
  retryBaseMs?: number;
  /** Apps' DNS targets are APP.baseDomain. */
  baseDomain: string;
  /** Where names point (a name not pointing at the platform is not ordered). */
  dns: DomainDns;
  /** The TXT proof a name needs before it is ordered; none with domain verification off. */
  ownership?: OwnershipCheck;
  log: Logger;
}

/**
 * What a CA or the network said, on one line, without anything of a key: a problem document's detail, or the
 * error of the challenge or authorization acme-client gave up on (it throws those as JSON).
 */
export function reasonOf(e: unknown): string {
  const err = e as Error & { response?: { data?: { detail?: string } } };
  let text = err.response?.data?.detail ?? err.message ?? String(e);
  try {
    const item = JSON.parse(text) as { status?: string; error?: { detail?: string }; challenges?: { error?: { detail?: string } }[] };
    text = item.error?.detail ?? item.challenges?.find((c) => c.error?.detail)?.error?.detail ?? `the CA marked the challenge ${item.status ?? 'invalid'}`;
  } catch {
    // not JSON: the message as it is
  }
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

export function createAcmeIssuer(o: AcmeIssuerOptions) {
  let running = false;

  async function issueOne(client: acme.Client, d: DueDomain): Promise<void> {
    const [key, csr] = await acme.crypto.createCsr({ commonName: d.hostname, altNames: [d.hostname] });
    const chain = await client.auto({
      csr, email: o.email, termsOfServiceAgreed: true, challengePriority: ['http-01'],
      // The CA checks the name; a check of our own first would need this host to resolve it as the world does.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`the CA offered ${challenge.type} only; Slipway answers http-01`);
        await o.acm.challenges.add(d.appId, d.hostname, challenge.token, keyAuthorization);
        await o.routesApplied(d.appId);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await o.acm.challenges.remove(d.appId, challenge.token);
      },
    });
    await o.sniEndpoints.saveAcm(d.appId, d.id, chain, key.toString());
    await o.acm.issued(d.id);
  }

  /** Why the CA is not asked for d's name now (it does not point here, or is not proved), or undefined. */
  async function notReady(d: DueDomain): Promise<string | undefined> {
    const pointing = await o.dns.notPointing(d.hostname, `${d.appName}.${o.baseDomain}`);
    if (pointing) return pointing;
    return o.ownership?.verify(d.appId, d.hostname).then(() => undefined, (e: Error) => e.message);
  }

  /** One pass: each due domain checked, then ordered (or marked failing, with why). */
  async function pass(): Promise<void> {
    const due = await o.acm.due();
    if (due.length === 0) return;
    const accountKey = await o.acm.accountKey(o.directoryUrl, async () => (await acme.crypto.createPrivateKey()).toString());
    const client = new acme.Client({ directoryUrl: o.directoryUrl, accountKey });
    for (const d of due) {
      try {
        const why = await notReady(d);
        if (why) {
          await o.acm.failedAttempt(d, why, o.retryBaseMs);
          o.log.info('certificate not ordered yet', { hostname: d.hostname, reason: why });
          continue;
        }
        await o.acm.ordered(d.appId);
        await issueOne(client, d);
        o.log.info('certificate issued', { hostname: d.hostname });
      } catch (e) {
        const reason = reasonOf(e);
        await o.acm.failedAttempt(d, reason, o.retryBaseMs);
        o.log.warn('certificate not issued', { hostname: d.hostname, reason });
      }
    }
  }

  return {
    /** One pass over the domains that need a certificate now, by one worker of the platform at a time. */
    async tick(): Promise<void> {
      if (running) return;
      running = true;
      try {
        const turn = await o.tryTurn('acme-issuer');
        if (!turn) return; // another worker's pass is under way
        try {
          await pass();
        } finally {
          await turn.end();
        }
      } catch (e) {
        o.log.warn('the certificate check failed', { error: (e as Error).message });
      } finally {
        running = false;
      }
    },
  };
}
