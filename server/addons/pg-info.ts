/** What pg:info shows of a database, as Heroku's data API's `info` list (name, values), with its plan's limits. */
import type { Addon, ServerDisk } from './store.js';
import type { PostgresAddonServer, PostgresUsage } from './postgres-server.js';
import { planOf, type PostgresPlan } from './plans.js';

export function humanBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** The one rule for a database being over its plan's storage (pg:info's warning, the storage watch's log line). */
export const overPlan = (plan: PostgresPlan, sizeBytes: number): boolean => sizeBytes > plan.storageBytes;

/** Over the plan and made read-only, over and about to be (the next watch round), or read-only until the next round. */
function readOnlyWarning(plan: PostgresPlan, usage: PostgresUsage): string {
  const over = overPlan(plan, usage.sizeBytes);
  if (!over) return `the database is read-only until the next storage check: it is within its plan's ${humanBytes(plan.storageBytes)} of storage again`;
  return `the database is over its plan's ${humanBytes(plan.storageBytes)} of storage: ${usage.readOnly ? 'it is read-only (SELECT, DELETE and TRUNCATE only)' : 'it is made read-only at the next storage check'} until it is back under: upgrade the plan or delete data`;
}

export interface PgInfo {
  usage?: PostgresUsage;
  /** Counted by the tenant's own role; missing when it could not connect (every connection of its plan in use). */
  tables?: number;
  /** Why usage could not be read (the server down, its disk full). */
  problem?: string;
  overStorage: boolean;
  /** The add-on server's disk is full (as the add-on host last saw it): writes fail. */
  diskFull: boolean;
  info: { name: string; values: string[] }[];
}

export async function pgInfo(a: Addon, server: PostgresAddonServer | undefined, password: string, disk?: Pick<ServerDisk, 'free_bytes' | 'total_bytes' | 'full'>): Promise<PgInfo> {
  const plan = planOf('postgresql', a.plan) as PostgresPlan;
  let usage: PostgresUsage | undefined;
  let tables: number | undefined;
  let problem: string | undefined;
  if (!server) problem = 'no PostgreSQL add-on server is configured';
  else {
    usage = await server.usage(a.resource).catch((e: Error) => void (problem ??= e.message));
    if (usage) tables = await server.tables(a.resource, password).catch(() => undefined);
  }
  const overStorage = !!usage && overPlan(plan, usage.sizeBytes);
  const pct = usage ? ((usage.sizeBytes / plan.storageBytes) * 100).toFixed(2) : '';
  const info = [
    { name: 'Plan', values: [plan.name] },
    { name: 'Status', values: [problem ? `Unavailable: ${problem}` : 'Available'] },
    { name: 'Connections', values: usage ? [`${usage.connections}/${plan.connections}`] : [] },
    { name: 'PG Version', values: usage ? [usage.serverVersion] : [] },
    { name: 'Created', values: [a.created_at.toISOString().replace('T', ' ').slice(0, 16)] },
    { name: 'Data Size', values: usage ? [`${humanBytes(usage.sizeBytes)} / ${humanBytes(plan.storageBytes)} (${pct}%)`] : [] },
    { name: 'Tables', values: tables !== undefined ? [String(tables)] : [] },
    ...(overStorage || usage?.readOnly ? [{ name: 'Warning', values: [readOnlyWarning(plan, usage!)] }] : []),
    ...(disk?.full ? [{ name: 'Warning', values: [`the add-on server's disk is full (${humanBytes(disk.free_bytes)} free of ${humanBytes(disk.total_bytes)}): writes to this database fail until space is freed`] }] : []),
    { name: 'Fork/Follow', values: ['Unsupported'] },
    { name: 'Rollback', values: ['Unsupported'] },
  ];
  return { usage, tables, problem, overStorage, diskFull: !!disk?.full, info };
}
