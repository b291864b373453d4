/**
 * Automatic certificates (Heroku's ACM), as records: which apps have them on, each custom domain's state (pending,
 * cert issued, failing, failed) with the last ACME error and when to try again, the HTTP-01 challenges the routers
 * answer, and the ACME account key per directory. The issuing itself is acme-issuer.ts.
 */
import type { Db } from '../db/pool.js';
import type { App } from '../apps/service.js';
import type { KeyBox } from '../services/key-box.js';

export type AcmStatus = 'pending' | 'cert issued' | 'failing' | 'failed';

/** A domain that needs a certificate now: none yet, or one that expires within 30 days. */
export interface DueDomain {
  id: string;
  appId: string;
  appName: string;
  hostname: string;
  failures: number;
}

/** After this many failed attempts in a row a domain is `failed` and waits for certs:auto:refresh. */
export const MAX_ATTEMPTS = 5;
/** Renew when a certificate has fewer days left than this. */
export const RENEW_DAYS = 30;
/** Domains of one app ordered in one pass of the issuer, at most. */
export const PER_APP_PER_PASS = 2;
/** Orders one app may send the CA in an hour (the platform's one ACME account has rate limits every app shares). */
export const ORDERS_PER_APP_PER_HOUR = 20;

/** The wait before attempt n+1 after n failures: 1 min, 4, 16, 64 … (at most a day). */
export const backoffMs = (failures: number, baseMs = 60_000) => Math.min(baseMs * 4 ** Math.max(0, failures - 1), 86_400_000);

export function createAcmService(deps: { db: Db; keys: KeyBox; changed?: (appId: string) => Promise<void> | void }) {
  const { db } = deps;
  const setStatus = (appId: string, status: AcmStatus | null) =>
    db.query(`UPDATE domains SET acm_status = $2, acm_status_reason = NULL, acm_failures = 0, acm_next_attempt_at = NULL, updated_at = now()
                WHERE app_id = $1 AND kind = 'custom'`, [appId, status]);
  return {
    /** certs:auto:enable: its custom domains get certificates, the first within a check interval. */
    async enable(app: App): Promise<void> {
      await db.query('UPDATE apps SET acm = true, updated_at = now() WHERE id = $1', [app.id]);
      await setStatus(app.id, 'pending');
    },

    /** certs:auto:disable: the certificates it issued go (uploaded ones stay). */
    async disable(app: App): Promise<void> {
      await db.query('UPDATE apps SET acm = false, updated_at = now() WHERE id = $1', [app.id]);
      await db.query('DELETE FROM sni_endpoints WHERE app_id = $1 AND acm', [app.id]);
      await setStatus(app.id, null);
      await deps.changed?.(app.id);
    },

    /** certs:auto:refresh: failed and failing domains are tried again now. */
    async refresh(app: App): Promise<void> {
      await db.query(`UPDATE domains SET acm_status = 'pending', acm_failures = 0, acm_next_attempt_at = NULL, updated_at = now()
                        WHERE app_id = $1 AND kind = 'custom' AND acm_status IS DISTINCT FROM 'cert issued'`, [app.id]);
    },

    /**
     * Domains of apps with ACM on that need a certificate: no certificate of their own (an uploaded one serving the
     * name counts), or an automatic one with under RENEW_DAYS left; not waiting out a backoff, not failed. Wildcards
     * are left out (HTTP-01 cannot prove them).
     */
    async due(limit = 10, perApp = PER_APP_PER_PASS, perHour = ORDERS_PER_APP_PER_HOUR): Promise<DueDomain[]> {
      // Fair across apps: renewals first, then round-robin (each app's first due domain, then each one's second…), at
      // most perApp of one app per pass and perHour orders an hour, so one app's thousand failing names never hold up
      // another app's one, nor spend the account's rate limits.
      const r = await db.query<{ id: string; app_id: string; app_name: string; hostname: string; acm_failures: number }>(
        `WITH due AS (
           SELECT d.id, d.app_id, a.name AS app_name, d.hostname, d.acm_failures, d.acm_next_attempt_at,
                  EXISTS (SELECT 1 FROM sni_endpoints e WHERE e.id = d.sni_endpoint_id AND e.acm) AS renewal
             FROM domains d JOIN apps a ON a.id = d.app_id
            WHERE a.acm AND d.kind = 'custom' AND d.hostname NOT LIKE '*.%' AND d.acm_status IS DISTINCT FROM 'failed'
              AND (d.acm_next_attempt_at IS NULL OR d.acm_next_attempt_at <= now())
              AND NOT EXISTS (SELECT 1 FROM sni_endpoints e WHERE e.id = d.sni_endpoint_id AND NOT e.acm)
              AND NOT EXISTS (SELECT 1 FROM sni_endpoints e WHERE e.id = d.sni_endpoint_id AND e.acm AND e.expires_at > now() + make_interval(days => $2))
              AND (SELECT count(*) FROM acme_orders o WHERE o.app_id = d.app_id AND o.at > now() - interval '1 hour') < $4
         ), ranked AS (
           SELECT *, row_number() OVER (PARTITION BY app_id ORDER BY renewal DESC, acm_next_attempt_at NULLS FIRST, id) AS nth FROM due
         )
         SELECT id, app_id, app_name, hostname, acm_failures FROM ranked WHERE nth <= $3
          ORDER BY renewal DESC, nth, acm_next_attempt_at NULLS FIRST, id LIMIT $1`, [limit, RENEW_DAYS, perApp, perHour]);
      return r.rows.map((x) => ({ id: x.id, appId: x.app_id, appName: x.app_name, hostname: x.hostname, failures: x.acm_failures }));
    },

    /** An order sent to the CA for one of the app's domains (counted against ORDERS_PER_APP_PER_HOUR). */
    async ordered(appId: string): Promise<void> {
      await db.query('INSERT INTO acme_orders (app_id) VALUES ($1)', [appId]);
      await db.query(`DELETE FROM acme_orders WHERE at < now() - interval '1 day'`);
    },

    async issued(domainId: string): Promise<void> {
      await db.query(`UPDATE domains SET acm_status = 'cert issued', acm_status_reason = NULL, acm_failures = 0, acm_next_attempt_at = NULL, updated_at = now()
                        WHERE id = $1`, [domainId]);
    },

    /** A failed attempt: failing (tried again after a backoff) until MAX_ATTEMPTS, then failed. */
    async failedAttempt(d: DueDomain, reason: string, baseMs?: number): Promise<void> {
      const failures = d.failures + 1;
      const status: AcmStatus = failures >= MAX_ATTEMPTS ? 'failed' : 'failing';
      await db.query(`UPDATE domains SET acm_status = $2, acm_status_reason = $3, acm_failures = $4,
                        acm_next_attempt_at = now() + make_interval(secs => $5), updated_at = now() WHERE id = $1`,
      [d.id, status, reason.slice(0, 500), failures, backoffMs(failures, baseMs) / 1000]);
    },

    challenges: {
      async add(appId: string, hostname: string, token: string, keyAuthorization: string): Promise<void> {
        await db.query('INSERT INTO acme_challenges (token, app_id, hostname, key_authorization) VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO NOTHING',
          [token, appId, hostname, keyAuthorization]);
        await deps.changed?.(appId);
      },
      async remove(appId: string, token: string): Promise<void> {
        await db.query('DELETE FROM acme_challenges WHERE token = $1', [token]);
        await deps.changed?.(appId);
      },
    },

    /** The account key for a directory (PEM), made with make() and sealed the first time. */
    async accountKey(directoryUrl: string, make: () => Promise<string>): Promise<string> {
      const known = (await db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM acme_accounts WHERE directory_url = $1', [directoryUrl])).rows[0];
      if (known) return deps.keys.open(known.private_key_sealed);
      await db.query('INSERT INTO acme_accounts (directory_url, private_key_sealed) VALUES ($1, $2) ON CONFLICT DO NOTHING', [directoryUrl, await deps.keys.seal(await make())]);
      const row = (await db.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM acme_accounts WHERE directory_url = $1', [directoryUrl])).rows[0];
      return deps.keys.open(row.private_key_sealed);
    },
  };
}

export type AcmService = ReturnType<typeof createAcmService>;
