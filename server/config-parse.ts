/**
 * The checks behind server/config.ts: each turns one setting's text into its value or throws an error naming the
 * setting (never echoing a value that may hold a password).
 */
import { existsSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { DYNO_SIZES } from '../platform/sizes.js';
import type { AddonDiskSize } from './addons/addon-disk.js';
import { parseCidr } from '../platform/egress.js';

export type Env = Record<string, string | undefined>;

export function port(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number from 0 to 65535, got "${value}"`);
  return n;
}

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, got "${value}"`);
  return n;
}

export function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
  return n;
}

export function url(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.startsWith('/')) return value;
  try {
    new URL(value);
  } catch {
    throw new Error(`${name} is not a valid URL`); // never echo the value: it may hold a password
  }
  return value;
}

export function oneOf<T extends string>(nameOf: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (!allowed.includes(value as T)) throw new Error(`${nameOf} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** A host name or an IP address as a URL takes it (an IPv6 one in brackets). */
export function hostAddress(nameOf: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const v = isIP(value) === 6 ? `[${value}]` : value;
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/i.test(v) || v.length > 253) {
    throw new Error(`${nameOf} must be a host name or an IP address, got "${value.slice(0, 60)}"`);
  }
  return v.toLowerCase();
}

export function subnet(value: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) < 8 || Number(m[5]) > 28) {
    throw new Error(`SLIPWAY_SUBNET must be an IPv4 subnet from /8 to /28, like 10.213.0.0/16, got "${value}"`);
  }
  return value;
}

export function name(nameOf: string, value: string): string {
  if (!/^[a-z][a-z0-9]{1,14}$/.test(value)) throw new Error(`${nameOf} must be 2 to 15 lowercase letters and digits, got "${value}"`);
  return value;
}

/** The newest PostgreSQL server binaries Debian installed (postgresql-NN). */
export function defaultPgBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return join(base, '15', 'bin');
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return join(base, versions[0] ?? '15', 'bin');
}

/** A comma-separated list of IPv4 CIDRs (a lone address is /32), normalized as egress policies read them. */
export function cidrList(nameOf: string, value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter(Boolean).map((v) => {
    try {
      return parseCidr(v);
    } catch {
      throw new Error(`${nameOf} lists IPv4 CIDRs (10.0.0.0/8, 192.168.1.5), got "${v.slice(0, 40)}"`);
    }
  });
}

export function dnsServers(value: string | undefined): string[] {
  const list = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-f:]+\](:\d{1,5})?|[0-9a-f:]+)$/i.test(s)) throw new Error(`SLIPWAY_DNS_SERVERS lists resolver addresses (IP or IP:port), got "${s}"`);
  return list;
}

export function pathList(nameOf: string, value: string | undefined): string[] {
  const dirs = (value ?? '').split(':').map((d) => d.trim()).filter(Boolean);
  for (const d of dirs) if (!d.startsWith('/') || d === '/') throw new Error(`${nameOf} lists absolute directories other than /, separated by colons; got "${d}"`);
  return dirs.map((d) => resolve(d));
}

export function dynoSizes(value: string | undefined, nameOf = 'SLIPWAY_DYNO_SIZES'): string[] | undefined {
  if (!value) return undefined;
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const known = DYNO_SIZES.map((s) => s.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length || names.length === 0) throw new Error(`${nameOf} names unknown sizes (${unknown.join(', ') || 'none given'}); sizes: ${known.join(', ')}`);
  return names;
}

/** A certificate and key given as two files, both or neither. */
/** A certificate and its key, as files. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export function fileTlsSetting(env: Env, certVar: string, keyVar: string): TlsFiles | undefined {
  const cert = env[certVar];
  const key = env[keyVar];
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error(`${certVar} and ${keyVar} go together: a PEM certificate (chain) and its key`);
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

export function tlsSetting(env: Env): TlsFiles | 'self-signed' | undefined {
  const files = fileTlsSetting(env, 'SLIPWAY_TLS_CERT', 'SLIPWAY_TLS_KEY');
  if (files) return files;
  const mode = env.SLIPWAY_TLS;
  if (!mode || mode === 'off') return undefined;
  if (mode !== 'self-signed') throw new Error(`SLIPWAY_TLS must be self-signed or off (or set SLIPWAY_TLS_CERT and SLIPWAY_TLS_KEY), got "${mode}"`);
  return 'self-signed';
}

/** The add-on servers: an embedded PostgreSQL (or an operator's, by an admin URL) and Redis, or none. */
export interface AddonSettings {
  /** embedded: run by `slipway up` in DATA/addons/postgres; a URL: an operator's server, as an admin role. */
  postgres: 'embedded' | 'off' | { adminUrl: string };
  /** The embedded add-on PostgreSQL's port on the bridge's gateway address. */
  postgresPort: number;
  redis: 'embedded' | 'off';
  /** The ports Redis add-ons are given, first and last. */
  redisPorts: [number, number];
  /** How often the add-on host checks its disk and each database's size against its plan. */
  watchMs: number;
  /** Free bytes below which the embedded add-on server's disk counts as full. */
  diskReserveBytes: number;
  /** The add-on servers' own filesystem (addon-disk.ts): its size in bytes, auto, or 0 for none. */
  diskSize: AddonDiskSize;
}

/** SLIPWAY_ADDON_DISK_MB: auto (the default), 0 (off: the data dir's own disk), or a size of at least 64 MB. */
function addonDiskSize(v: string | undefined): AddonDiskSize {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (!/^\d{1,9}$/.test(v) || (Number(v) !== 0 && Number(v) < 64)) throw new Error(`SLIPWAY_ADDON_DISK_MB must be auto, 0 (off) or a size in MB of at least 64, got "${v.slice(0, 20)}"`);
  return Number(v) * 2 ** 20;
}

export function addonSettings(env: Env): AddonSettings {
  const pgSetting = env.SLIPWAY_ADDON_POSTGRES || 'embedded';
  let postgres: AddonSettings['postgres'];
  if (pgSetting === 'embedded' || pgSetting === 'off') postgres = pgSetting;
  else if (/^postgres(ql)?:\/\//.test(pgSetting)) postgres = { adminUrl: url('SLIPWAY_ADDON_POSTGRES', pgSetting)! };
  else throw new Error('SLIPWAY_ADDON_POSTGRES must be embedded, off, or a postgres:// URL of an admin role'); // never echo it: a URL holds a password
  const ports = env.SLIPWAY_ADDON_REDIS_PORTS || '16380-16999';
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(ports);
  const range = m ? [port('SLIPWAY_ADDON_REDIS_PORTS', m[1], 0), port('SLIPWAY_ADDON_REDIS_PORTS', m[2], 0)] : [];
  if (!m || range[0] < 1024 || range[1] < range[0]) throw new Error(`SLIPWAY_ADDON_REDIS_PORTS must be a range FIRST-LAST of ports above 1023, got "${ports}"`);
  return {
    postgres,
    postgresPort: port('SLIPWAY_ADDON_POSTGRES_PORT', env.SLIPWAY_ADDON_POSTGRES_PORT, 15432),
    redis: oneOf('SLIPWAY_ADDON_REDIS', env.SLIPWAY_ADDON_REDIS, ['embedded', 'off'] as const, 'embedded'),
    redisPorts: [range[0], range[1]],
    watchMs: positiveNumber('SLIPWAY_ADDON_WATCH_INTERVAL', env.SLIPWAY_ADDON_WATCH_INTERVAL, 60) * 1000,
    diskReserveBytes: positiveInt('SLIPWAY_ADDON_DISK_RESERVE_MB', env.SLIPWAY_ADDON_DISK_RESERVE_MB, 64) * 2 ** 20,
    diskSize: addonDiskSize(env.SLIPWAY_ADDON_DISK_MB),
  };
}

export interface ImagePushTarget {
  /** The registry's origin (http or https). */
  origin: string;
  /** The repository path before the app's name ('' for none). */
  prefix: string;
  user?: string;
  password?: string;
}

/** SLIPWAY_IMAGE_PUSH_URL (and _USER, _PASSWORD): where release images are pushed; never echoes a value. */
export function imagePushTarget(env: Env): ImagePushTarget | undefined {
  const raw = env.SLIPWAY_IMAGE_PUSH_URL;
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error('SLIPWAY_IMAGE_PUSH_URL is not a valid URL');
  }
  if (!/^https?:$/.test(u.protocol) || u.username || u.password || u.search || u.hash) {
    throw new Error('SLIPWAY_IMAGE_PUSH_URL must be http(s)://HOST[:PORT][/PATH], credentials in SLIPWAY_IMAGE_PUSH_USER and _PASSWORD');
  }
  const prefix = u.pathname.replace(/^\/+|\/+$/g, '');
  if (prefix && !/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(prefix)) throw new Error('SLIPWAY_IMAGE_PUSH_URL: its path must be a repository namespace (lowercase letters, digits, . _ - and /)');
  return { origin: u.origin, prefix, user: env.SLIPWAY_IMAGE_PUSH_USER || undefined, password: env.SLIPWAY_IMAGE_PUSH_PASSWORD || undefined };
}
