/**
 * The add-on host's watch over storage, every SLIPWAY_ADDON_WATCH_INTERVAL: the embedded add-on PostgreSQL's disk
 * (less free than SLIPWAY_ADDON_DISK_RESERVE_MB counts as full; recorded for pg:info) and each database's size
 * against its plan: one over its plan's storage is made read-only until it is back under (Heroku's rule; what the
 * tenant keeps is SELECT, DELETE and TRUNCATE, postgres-read-only.ts). A change is said once, in the log of every app attached to the database, as Heroku's
 * `app[heroku-postgres]` lines: the disk full and free again, a database over its plan's storage and back within it.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { AppLogWriter } from '../logs/app-log.js';
import { humanBytes, overPlan } from './pg-info.js';
import { planOf, type PostgresPlan } from './plans.js';
import type { PostgresAddonServer } from './postgres-server.js';
import type { Addon, AddonStore } from './store.js';

export interface StorageWatchDeps {
  store: Pick<AddonStore, 'postgresOn' | 'attachmentsOfAddon' | 'setServerDisk'>;
  server: Pick<PostgresAddonServer, 'host' | 'port' | 'usage' | 'setReadOnly'>;
  /** A directory on the filesystem holding the server's data: the embedded server's (an operator's is not seen). */
  dataDir?: string;
  reserveBytes: number;
  logs: Pick<AppLogWriter, 'write'>;
  log: Logger;
}

export const LOG_DYNO = 'heroku-postgres';

/** The server's key in addon_server_disks (pg:info looks it up by the add-on's host and port). */
export const serverKey = (s: { host: string; port: number }) => `${s.host}:${s.port}`;

export function createStorageWatch(d: StorageWatchDeps) {
  let diskFull = false;

  async function tell(addon: Addon, what: string): Promise<void> {
    for (const t of await d.store.attachmentsOfAddon(addon.id)) d.logs.write(t.app_id, 'app', LOG_DYNO, `source=${t.name} addon=${addon.name} ${what}`);
  }

  async function checkDisk(addons: Addon[]): Promise<void> {
    if (!d.dataDir) return;
    const s = await statfs(d.dataDir);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const full = free < d.reserveBytes;
    await d.store.setServerDisk(serverKey(d.server), { free_bytes: free, total_bytes: total, full });
    if (full === diskFull) return;
    diskFull = full;
    d.log[full ? 'error' : 'info'](full ? "the add-on PostgreSQL's disk is full" : "the add-on PostgreSQL's disk has space again", { free: humanBytes(free) });
    const line = full
      ? `Error: the add-on server's disk is full (${humanBytes(free)} free of ${humanBytes(total)}): writes to this database fail until space is freed`
      : `the add-on server's disk has space again (${humanBytes(free)} free): writes work again`;
    for (const a of addons) await tell(a, line);
  }

  /** Over its plan and still writable, or back under and still read-only: the server's state is the record. */
  async function checkSize(a: Addon): Promise<void> {
    const usage = await d.server.usage(a.resource).catch(() => undefined); // the server down: nothing to say about its size
    if (!usage) return;
    const plan = planOf('postgresql', a.plan) as PostgresPlan;
    const isOver = overPlan(plan, usage.sizeBytes);
    if (isOver === usage.readOnly) return;
    try {
      await d.server.setReadOnly(a.resource, isOver);
    } catch (e) {
      d.log.warn(isOver ? 'making a database over its plan read-only failed; tried again next round' : 'making a database writable again failed; tried again next round', { addon: a.name, error: (e as Error).message });
      return;
    }
    await tell(a, isOver
      ? `sample#db_size=${usage.sizeBytes}bytes Error: the database uses ${humanBytes(usage.sizeBytes)}, over its plan's ${humanBytes(plan.storageBytes)} of storage (${plan.name}): it is read-only (SELECT, DELETE and TRUNCATE only) until it is back under: upgrade the plan or delete data`
      : `sample#db_size=${usage.sizeBytes}bytes the database is within its plan's ${humanBytes(plan.storageBytes)} of storage again: writes work again`);
  }

  return {
    async check(): Promise<void> {
      const addons = await d.store.postgresOn(d.server.host, d.server.port);
      await checkDisk(addons);
      for (const a of addons) await checkSize(a);
    },
  };
}
