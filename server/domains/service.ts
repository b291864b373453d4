/**
 * Custom domains: hostnames the router sends to an app besides its default `APP.BASE_DOMAIN`. A hostname belongs to
 * one app; names under the base domain are the platform's (default hostnames, its own), so they cannot be claimed.
 */
import { isIP } from 'node:net';
import type { Db } from '../db/pool.js';
import { conflict, invalidParams, notFound } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';
import type { OwnershipCheck } from './ownership.js';
import { nameCovers } from '../certs/cert-check.js';

export type Hostname = string & { readonly __brand: 'Hostname' };

export interface Domain {
  id: string;
  appId: string;
  appName: string;
  hostname: string;
  kind: 'default' | 'custom';
  /** The certificate the router serves for it over TLS, when one is associated. */
  sniEndpoint: { id: string; name: string } | null;
  /** Its automatic certificate's state (certs:auto) and the last ACME error. */
  acmStatus: string | null;
  acmStatusReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const MAX_CUSTOM_DOMAINS = 1000;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A hostname as a person types it → the name the router matches: lowercase, no trailing dot. Rejects schemes,
 * ports, paths, IP addresses, non-ASCII (use the xn-- form), bad labels, single-label names and wildcards other
 * than a leading `*.` before a real name.
 */
export function parseHostname(value: unknown): Hostname {
  if (typeof value !== 'string' || value === '') throw invalidParams('Hostname must be a non-empty string, like www.example.com.');
  const raw = value;
  if (raw.length > 255) throw invalidParams('Hostname is longer than 253 characters.');
  const shown = JSON.stringify(raw.slice(0, 80));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw invalidParams(`Hostname ${shown} has a scheme: give the name only, like www.example.com.`);
  if (/[/?#@\s]/.test(raw)) throw invalidParams(`Hostname ${shown} is not a bare host name (no path, query, credentials or spaces).`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(raw)) throw invalidParams(`Hostname ${shown} has characters outside ASCII: use its punycode (xn--) form.`);
  if (isIP(raw.replace(/^\[|\]$/g, ''))) throw invalidParams(`Hostname ${shown} is an IP address; domains are names.`);
  if (raw.includes(':')) throw invalidParams(`Hostname ${shown} has a port: give the name only; the router listens on its own ports.`);
  const host = raw.toLowerCase().replace(/\.$/, '');
  if (host.length > 253) throw invalidParams('Hostname is longer than 253 characters.');
  const labels = host.split('.');
  const wildcard = labels[0] === '*';
  const rest = wildcard ? labels.slice(1) : labels;
  if (rest.length < 2) throw invalidParams(`Hostname ${shown} needs at least two labels, like ${wildcard ? '*.example.com' : 'example.com'}.`);
  for (const l of rest) {
    if (!LABEL.test(l)) {
      throw invalidParams(
        l.includes('*')
          ? `Hostname ${shown}: a wildcard may only be the whole first label, as in *.example.com.`
          : `Hostname ${shown} has an invalid label "${l.slice(0, 63)}": letters, digits and inner dashes, 1 to 63 characters.`,
      );
    }
  }
  if (/^\d+$/.test(rest[rest.length - 1])) throw invalidParams(`Hostname ${shown} ends in a number; top-level domains are not numeric.`);
  return host as Hostname;
}

const COLUMNS = `d.id, d.app_id, a.name AS app_name, d.hostname, d.kind, d.created_at, d.updated_at, e.id AS sni_id, e.name AS sni_name, d.acm_status, d.acm_status_reason`;
const FROM = 'domains d JOIN apps a ON a.id = d.app_id LEFT JOIN sni_endpoints e ON e.id = d.sni_endpoint_id';
type Row = {
  id: string; app_id: string; app_name: string; hostname: string; kind: 'default' | 'custom'; created_at: Date; updated_at: Date; sni_id: string | null; sni_name: string | null;
  acm_status: string | null; acm_status_reason: string | null;
};
const fromRow = (r: Row): Domain => ({
  id: r.id, appId: r.app_id, appName: r.app_name, hostname: r.hostname, kind: r.kind, createdAt: r.created_at, updatedAt: r.updated_at,
  sniEndpoint: r.sni_id && r.sni_name ? { id: r.sni_id, name: r.sni_name } : null,
  acmStatus: r.acm_status, acmStatusReason: r.acm_status_reason,
});

/**
 * The parent domains of the platform's own host names (api.slipway.example → slipway.example), reserved as names
 * (a wildcard over them is refused as covering a platform host), when more than a top-level domain; an IP address or
 * a one-label host has none.
 */
export function reservedZones(hosts: string[]): string[] {
  return [...new Set(hosts.filter((h) => !isIP(h)).map((h) => h.split('.').slice(1)).filter((labels) => labels.length >= 2).map((l) => l.join('.')))];
}

/** The platform's own name a wildcard over `bare` would cover (its base domain, its hosts, or below them). */
function coveredPlatformName(bare: string, platform: string[]): string | undefined {
  return platform.find((p) => p === bare || p.endsWith(`.${bare}`));
}

export function createDomainService(deps: {
  db: Db; baseDomain: string; platformHosts?: string[]; ownership?: OwnershipCheck; changed?: (appId: string) => Promise<void> | void;
}) {
  const base = deps.baseDomain.toLowerCase();
  const own = new Set((deps.platformHosts ?? []).map((h) => h.toLowerCase()));
  const platformNames = [base, ...own];
  const zones = reservedZones([...own]);

  const find = async (app: App, idOrHostname: string): Promise<Domain> => {
    const key = idOrHostname.toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9*.-]{1,253}$/.test(key) && !isUuid(key)) throw notFound(`Couldn't find that domain: ${idOrHostname.slice(0, 253)} is not a domain of ${app.name}.`);
    const r = await deps.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE d.app_id = $1 AND ${isUuid(key) ? 'd.id = $2' : 'lower(d.hostname) = $2'}`,
      [app.id, key],
    );
    if (!r.rows[0]) throw notFound(`Couldn't find that domain: ${idOrHostname.slice(0, 253)} is not a domain of ${app.name}.`);
    return fromRow(r.rows[0]);
  };

  return {
    async list(app: App): Promise<Domain[]> {
      const r = await deps.db.query<Row>(`SELECT ${COLUMNS} FROM ${FROM} WHERE d.app_id = $1 ORDER BY d.kind, d.hostname`, [app.id]);
      return r.rows.map(fromRow);
    },

    get: find,

    async add(app: App, hostname: Hostname): Promise<Domain> {
      const bare = hostname.replace(/^\*\./, '');
      if (bare === base || bare.endsWith(`.${base}`) || own.has(bare)) {
        throw invalidParams(`${hostname} is under the platform's domain ${base}: apps get APP.${base} by default and cannot claim other names there.`);
      }
      if (!hostname.startsWith('*.') && zones.includes(bare)) throw invalidParams(`${hostname} is the parent domain of the platform's own host names: no app may claim it.`);
      const covered = hostname.startsWith('*.') ? coveredPlatformName(bare, platformNames) : undefined;
      if (covered) throw invalidParams(`${hostname} would cover the platform's own name ${covered}: a wildcard may not sit over the platform's domains.`);
      const holder = (await deps.db.query<{ app_id: string }>('SELECT app_id FROM domains WHERE lower(hostname) = $1', [hostname])).rows[0];
      if (holder?.app_id === app.id) throw invalidParams(`Domain ${hostname} is already added to ${app.name}.`);
      if (holder) throw conflict('Domain already added to another app.');
      const count = Number((await deps.db.query(`SELECT count(*) AS n FROM domains WHERE app_id = $1 AND kind = 'custom'`, [app.id])).rows[0].n);
      if (count >= MAX_CUSTOM_DOMAINS) throw invalidParams(`An app may have at most ${MAX_CUSTOM_DOMAINS} custom domains.`);
      await deps.ownership?.verify(app.id, hostname);
      const inserted = await deps.db
        .query<{ id: string }>(`INSERT INTO domains (app_id, hostname, kind) VALUES ($1, $2, 'custom') RETURNING id`, [app.id, hostname])
        .catch((e: { code?: string }) => {
          if (e.code === '23505') throw conflict('Domain already added to another app.');
          throw e;
        });
      await deps.changed?.(app.id);
      return find(app, inserted.rows[0].id);
    },

    async remove(app: App, idOrHostname: string): Promise<Domain> {
      const d = await find(app, idOrHostname);
      if (d.kind === 'default') throw invalidParams(`${d.hostname} is ${app.name}'s default domain; it goes when the app does.`);
      await deps.db.query('DELETE FROM domains WHERE id = $1', [d.id]);
      await deps.changed?.(app.id);
      return d;
    },

    /** domains:update --cert: the certificate served for the domain (one of the app's, covering it), or none. */
    async setSniEndpoint(app: App, idOrHostname: string, endpoint: { id: string; name: string; names: string[] } | null): Promise<Domain> {
      const d = await find(app, idOrHostname);
      if (endpoint && !endpoint.names.some((n) => nameCovers(n, d.hostname))) {
        throw invalidParams(`SNI endpoint ${endpoint.name} covers ${endpoint.names.join(', ')}, not ${d.hostname}.`);
      }
      await deps.db.query('UPDATE domains SET sni_endpoint_id = $2, updated_at = now() WHERE id = $1', [d.id, endpoint?.id ?? null]);
      await deps.changed?.(app.id);
      return find(app, d.id);
    },

    /** domains:clear: every custom domain of the app. */
    async clear(app: App): Promise<number> {
      const r = await deps.db.query(`DELETE FROM domains WHERE app_id = $1 AND kind = 'custom'`, [app.id]);
      if (r.rowCount) await deps.changed?.(app.id);
      return r.rowCount ?? 0;
    },
  };
}

export type DomainService = ReturnType<typeof createDomainService>;
