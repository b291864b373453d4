/**
 * Certificates an app uploads for its custom domains (Heroku's SNI endpoints). Each is checked before it is kept
 * (cert-check.ts), its private key sealed under the platform's key (services/key-box.ts) and never given back; the domains
 * it covers that no other certificate serves are associated with it, and the router serves it for them within
 * seconds of a change (the app's change event).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/pool.js';
import { conflict, notFound, quotaExceeded } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';
import { checkCertificate, nameCovers, type CertFacts } from './cert-check.js';
import type { KeyBox } from '../services/key-box.js';
import type { RouteCertificate } from '../../router/routes.js';

/** An uploaded certificate: its facts (cert-check.ts) and where it is used; never its key. */
export interface SniEndpoint extends Omit<CertFacts, 'chain'> {
  id: string;
  appId: string;
  appName: string;
  name: string;
  certificateChain: string;
  /** Ids of the domains it serves. */
  domainIds: string[];
  /** Issued by ACME (certs:auto), not uploaded. */
  acm: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Certificates an app may upload (automatic ones aside): each router worker loads every one, so one app must not
 * make thousands; replacing one is certs:update.
 */
export const MAX_SNI_ENDPOINTS = 20;

const COLUMNS = `e.id, e.app_id, a.name AS app_name, e.name, e.certificate_chain, e.cert_domains, e.starts_at, e.expires_at, e.issuer,
  e.subject, e.self_signed, e.ca_signed, e.acm, e.created_at, e.updated_at,
  COALESCE((SELECT array_agg(d.id ORDER BY d.hostname) FROM domains d WHERE d.sni_endpoint_id = e.id), '{}') AS domain_ids`;
type Row = {
  id: string; app_id: string; app_name: string; name: string; certificate_chain: string; cert_domains: string[]; starts_at: Date; expires_at: Date;
  issuer: string; subject: string; self_signed: boolean; ca_signed: boolean; acm: boolean; created_at: Date; updated_at: Date; domain_ids: string[];
};
const fromRow = (r: Row): SniEndpoint => ({
  id: r.id, appId: r.app_id, appName: r.app_name, name: r.name, certificateChain: r.certificate_chain, names: r.cert_domains, startsAt: r.starts_at,
  expiresAt: r.expires_at, issuer: r.issuer, subject: r.subject, selfSigned: r.self_signed, caSigned: r.ca_signed, domainIds: r.domain_ids, acm: r.acm,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export function createSniEndpointService(deps: { db: Db; keys: KeyBox; changed?: (appId: string) => Promise<void> | void }) {
  const { db } = deps;
  const hostnamesOf = async (app: App) =>
    (await db.query<{ id: string; hostname: string; sni_endpoint_id: string | null }>('SELECT id, hostname, sni_endpoint_id FROM domains WHERE app_id = $1', [app.id])).rows;

  const find = async (app: App, idOrName: string): Promise<SniEndpoint> => {
    const key = idOrName.trim();
    const r = /^[a-z0-9-]{1,100}$/.test(key) || isUuid(key)
      ? await db.query<Row>(`SELECT ${COLUMNS} FROM sni_endpoints e JOIN apps a ON a.id = e.app_id WHERE e.app_id = $1 AND ${isUuid(key) ? 'e.id = $2' : 'e.name = $2'}`, [app.id, key])
      : { rows: [] };
    if (!r.rows[0]) throw notFound("Couldn't find that SNI endpoint.");
    return fromRow(r.rows[0]);
  };

  /** The app's domains this certificate covers and no other certificate serves become its; those it no longer covers are let go. */
  const associate = async (app: App, endpointId: string, names: string[]) => {
    for (const d of await hostnamesOf(app)) {
      const covers = names.some((n) => nameCovers(n, d.hostname));
      if (covers && d.sni_endpoint_id === null) await db.query('UPDATE domains SET sni_endpoint_id = $1, updated_at = now() WHERE id = $2', [endpointId, d.id]);
      if (!covers && d.sni_endpoint_id === endpointId) await db.query('UPDATE domains SET sni_endpoint_id = NULL, updated_at = now() WHERE id = $1', [d.id]);
    }
  };

  const checked = async (app: App, body: { certificate_chain?: unknown; private_key?: unknown }): Promise<CertFacts> =>
    checkCertificate(body.certificate_chain, body.private_key, (await hostnamesOf(app)).map((d) => d.hostname));

  return {
    async list(app: App): Promise<SniEndpoint[]> {
      return (await db.query<Row>(`SELECT ${COLUMNS} FROM sni_endpoints e JOIN apps a ON a.id = e.app_id WHERE e.app_id = $1 ORDER BY e.name`, [app.id])).rows.map(fromRow);
    },

    get: find,

    async create(app: App, body: { certificate_chain?: unknown; private_key?: unknown }): Promise<SniEndpoint> {
      const c = await checked(app, body);
      const held = (await db.query<{ name: string; same: boolean }>(
        'SELECT name, certificate_chain = $2 AS same FROM sni_endpoints WHERE app_id = $1 AND NOT acm', [app.id, c.chain])).rows;
      const same = held.find((e) => e.same);
      if (same) throw conflict(`This certificate is already added to ${app.name} as ${same.name}.`);
      if (held.length >= MAX_SNI_ENDPOINTS) {
        throw quotaExceeded(`${app.name} has ${held.length} certificates, the most an app may upload: replace one (certs:update) or remove one (certs:remove).`);
      }
      const name = `${app.name.slice(0, 40)}-${randomBytes(3).toString('hex')}`;
      const r = await db.query<{ id: string }>(
        `INSERT INTO sni_endpoints (app_id, name, certificate_chain, private_key_sealed, cert_domains, starts_at, expires_at, issuer, subject, self_signed, ca_signed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
        [app.id, name, c.chain, await deps.keys.seal(String(body.private_key)), c.names, c.startsAt, c.expiresAt, c.issuer, c.subject, c.selfSigned, c.caSigned],
      );
      await associate(app, r.rows[0].id, c.names);
      await deps.changed?.(app.id);
      return find(app, r.rows[0].id);
    },

    /** certs:update: a new chain and key for the same endpoint; its domains follow what the new one covers. */
    async update(app: App, idOrName: string, body: { certificate_chain?: unknown; private_key?: unknown }): Promise<SniEndpoint> {
      const e = await find(app, idOrName);
      const c = await checked(app, body);
      await db.query(
        `UPDATE sni_endpoints SET certificate_chain = $2, private_key_sealed = $3, cert_domains = $4, starts_at = $5, expires_at = $6, issuer = $7,
           subject = $8, self_signed = $9, ca_signed = $10, updated_at = now() WHERE id = $1`,
        [e.id, c.chain, await deps.keys.seal(String(body.private_key)), c.names, c.startsAt, c.expiresAt, c.issuer, c.subject, c.selfSigned, c.caSigned],
      );
      await associate(app, e.id, c.names);
      await deps.changed?.(app.id);
      return find(app, e.id);
    },

    async remove(app: App, idOrName: string): Promise<SniEndpoint> {
      const e = await find(app, idOrName);
      await db.query('DELETE FROM sni_endpoints WHERE id = $1', [e.id]);
      await deps.changed?.(app.id);
      return e;
    },

    /**
     * A certificate ACME issued for one of the app's domains: checked like an upload, kept as the domain's automatic
     * endpoint (replacing the one it renews), served within seconds.
     */
    async saveAcm(appId: string, domainId: string, chain: string, key: string): Promise<void> {
      const d = (await db.query<{ hostname: string; app_name: string; sni_endpoint_id: string | null; acm: boolean | null }>(
        `SELECT d.hostname, a.name AS app_name, d.sni_endpoint_id, e.acm FROM domains d JOIN apps a ON a.id = d.app_id
           LEFT JOIN sni_endpoints e ON e.id = d.sni_endpoint_id WHERE d.id = $1 AND d.app_id = $2`, [domainId, appId])).rows[0];
      if (!d) return; // the domain went meanwhile
      const c = checkCertificate(chain, key, [d.hostname]);
      const values = [c.chain, await deps.keys.seal(key), c.names, c.startsAt, c.expiresAt, c.issuer, c.subject, c.selfSigned, c.caSigned];
      if (d.sni_endpoint_id && d.acm) {
        await db.query(`UPDATE sni_endpoints SET certificate_chain = $2, private_key_sealed = $3, cert_domains = $4, starts_at = $5, expires_at = $6,
                          issuer = $7, subject = $8, self_signed = $9, ca_signed = $10, updated_at = now() WHERE id = $1`, [d.sni_endpoint_id, ...values]);
      } else {
        const name = `${d.app_name.slice(0, 36)}-acm-${randomBytes(3).toString('hex')}`;
        const r = await db.query<{ id: string }>(
          `INSERT INTO sni_endpoints (app_id, name, certificate_chain, private_key_sealed, cert_domains, starts_at, expires_at, issuer, subject, self_signed, ca_signed, acm)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true) RETURNING id`, [appId, name, ...values]);
        await db.query('UPDATE domains SET sni_endpoint_id = $1, updated_at = now() WHERE id = $2', [r.rows[0].id, domainId]);
      }
      await deps.changed?.(appId);
    },

    /** What the router serves for these apps (or all): each certificate with its key still sealed, and its hostnames. */
    async served(appIds?: string[]): Promise<Map<string, RouteCertificate[]>> {
      const r = await db.query<{ id: string; app_id: string; updated_at: Date; certificate_chain: string; private_key_sealed: string; cert_domains: string[]; serves: string[] }>(
        `SELECT e.id, e.app_id, e.updated_at, e.certificate_chain, e.private_key_sealed, e.cert_domains,
                COALESCE((SELECT array_agg(lower(d.hostname)) FROM domains d WHERE d.sni_endpoint_id = e.id), '{}') AS serves
           FROM sni_endpoints e ${appIds ? 'WHERE e.app_id = ANY($1::uuid[])' : ''} ORDER BY e.created_at`, appIds ? [appIds] : []);
      const out = new Map<string, RouteCertificate[]>();
      for (const row of r.rows) {
        const list = out.get(row.app_id) ?? [];
        list.push({ id: row.id, version: row.updated_at.toISOString(), chain: row.certificate_chain, key: { sealed: row.private_key_sealed }, names: row.cert_domains, serves: row.serves });
        out.set(row.app_id, list);
      }
      return out;
    },
  };
}

export type SniEndpointService = ReturnType<typeof createSniEndpointService>;
