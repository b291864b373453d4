/**
 * Backups of PostgreSQL add-ons: pg_dump in its custom format to DATA/addons/backups/ADDON_ID/NUM.dump, restores
 * with pg_restore in one transaction (a restore that fails leaves the database as it was), schedules run by the
 * worker once a day at a set time with a retention. Both tools run as the tenant's own role, with its password
 * (in PGPASSWORD, never in argv): a dump is the tenant's data, and what it holds (a CHECK constraint's function
 * that runs RESET ROLE while rows load) runs with the tenant's rights, never the admin's. A capture or restore runs
 * in the API process that was asked; one the platform was stopped in the middle of is marked failed when the API
 * starts again.
 */
import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Addon } from './store.js';
import { backupsDir } from './servers.js';
import type { PostgresAddonServer } from './postgres-server.js';
import type { Backup, BackupStore } from './backup-store.js';
import type { KeyBox } from '../services/key-box.js';
import type { DiskGuard } from '../services/disk-guard.js';

const UUID = /^[0-9a-f-]{36}$/;

export const backupDirOf = (config: Config, addonId: string) => {
  if (!UUID.test(addonId)) throw new Error('not an add-on id');
  return join(backupsDir(config), addonId);
};

export const backupFileOf = (config: Config, b: Pick<Backup, 'addon_id' | 'num'>) => join(backupDirOf(config, b.addon_id), `${b.num}.dump`);

/** An add-on destroyed: its backups go too. */
export async function removeBackupFiles(config: Config, a: Pick<Addon, 'id'>): Promise<void> {
  await rm(backupDirOf(config, a.id), { recursive: true, force: true });
}

/** Backup names as Heroku's: b001, a002 (scheduled), r003 (a restore). */
export const backupName = (b: Pick<Backup, 'kind' | 'scheduled' | 'num'>) => `${b.kind === 'restore' ? 'r' : b.scheduled ? 'a' : 'b'}${String(b.num).padStart(3, '0')}`;

export function parseBackupName(name: string): number | undefined {
  const m = /^[abr]?(\d{1,9})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Runs a PostgreSQL client tool against a tenant's database; rejects with its last lines of stderr. */
function runTool(bin: string, args: string[], tenantUrl: string): Promise<void> {
  const u = new URL(tenantUrl);
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args, '--dbname', u.toString()], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err.trim().split('\n').slice(-3).join(' ') || `exit status ${code}`))));
  });
}

export function createBackupRunner(o: {
  config: Config; store: BackupStore; server: () => PostgresAddonServer | undefined; keys: Pick<KeyBox, 'open'>;
  /** Refuses a backup when the platform's disk is nearly full (its reserve is the platform database's). */
  disk?: Pick<DiskGuard, 'check'>;
}) {
  const tool = (name: string) => join(o.config.pgBinDir, name);
  const urlOf = async (server: PostgresAddonServer, a: Addon) => server.tenantUrl(a.resource, await o.keys.open(a.password_sealed));

  async function dump(b: Backup, a: Addon): Promise<void> {
    const server = o.server();
    const file = backupFileOf(o.config, b);
    const tmp = `${file}.partial`;
    try {
      if (!server) throw new Error('no PostgreSQL add-on server is configured');
      await mkdir(backupDirOf(o.config, a.id), { recursive: true, mode: 0o700 });
      await runTool(tool('pg_dump'), ['--format=custom', '--no-owner', '--no-acl', '--file', tmp], await urlOf(server, a));
      await rename(tmp, file);
      await o.store.finish(b.id, { size: (await stat(file)).size });
    } catch (e) {
      await rm(tmp, { force: true });
      await o.store.finish(b.id, { error: `pg_dump failed: ${(e as Error).message}` });
    }
  }

  async function load(r: Backup, source: Backup, target: Addon): Promise<void> {
    const server = o.server();
    try {
      if (!server) throw new Error('no PostgreSQL add-on server is configured');
      await runTool(tool('pg_restore'), ['--clean', '--if-exists', '--no-owner', '--no-acl', '--single-transaction', '--exit-on-error', backupFileOf(o.config, source)],
        await urlOf(server, target));
      await o.store.finish(r.id, { size: source.size ?? undefined });
    } catch (e) {
      await o.store.finish(r.id, { error: `pg_restore failed (the database is as it was): ${(e as Error).message}` });
    }
  }

  return {
    /** Starts a backup of the add-on as seen from app (attachment name from); resolves with its row, the dump going on. */
    async capture(a: Addon, app: { id: string }, from: string, scheduled = false): Promise<{ backup: Backup; done: Promise<void> }> {
      await o.disk?.check('A backup');
      const backup = await o.store.begin({ addon_id: a.id, app_id: app.id, kind: 'backup', from_name: from, scheduled });
      return { backup, done: dump(backup, a) };
    },
    async restore(source: Backup, target: Addon, app: { id: string }, into: string): Promise<{ backup: Backup; done: Promise<void> }> {
      const backup = await o.store.begin({ addon_id: target.id, app_id: app.id, kind: 'restore', from_name: into, scheduled: false, source_id: source.id });
      return { backup, done: load(backup, source, target) };
    },
    async remove(b: Backup): Promise<void> {
      await o.store.remove(b.id);
      if (b.kind === 'backup') await rm(backupFileOf(o.config, b), { force: true });
    },
  };
}

export type BackupRunner = ReturnType<typeof createBackupRunner>;
