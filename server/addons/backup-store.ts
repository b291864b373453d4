/** The rows of backups, restores and backup schedules. All their SQL is here. */
import type { Db } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { conflict, quotaExceeded } from '../errors.js';

/** Backups taken by hand kept per add-on (Heroku keeps a plan's number and rotates; here the user chooses which go). */
export const MAX_MANUAL_BACKUPS = 10;

export interface Backup {
  id: string;
  addon_id: string;
  addon_name: string;
  app_id: string;
  app_name: string;
  num: number;
  kind: 'backup' | 'restore';
  from_name: string;
  source_id: string | null;
  scheduled: boolean;
  status: 'running' | 'succeeded' | 'failed';
  size: number | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface BackupSchedule {
  addon_id: string;
  addon_name: string;
  app_id: string;
  at_hour: number;
  at_minute: number;
  timezone: string;
  retain: number;
  last_run_on: string | null;
}

const BACKUP = `SELECT b.*, ad.name AS addon_name, a.name AS app_name FROM addon_backups b JOIN addons ad ON ad.id = b.addon_id JOIN apps a ON a.id = b.app_id`;

export function createBackupStore(db: Db) {
  return {
    /**
     * A new backup or restore, numbered next for the app. One transfer of an add-on at a time (409 while one runs), and
     * at most maxManual backups taken by hand kept per add-on (422: delete one first); scheduled ones rotate themselves.
     */
    async begin(b: Pick<Backup, 'addon_id' | 'app_id' | 'kind' | 'from_name' | 'scheduled'> & { source_id?: string }, maxManual = MAX_MANUAL_BACKUPS): Promise<Backup> {
      const id = await withTransaction(db, async (tx) => {
        await tx.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [b.app_id]);
        await tx.query('SELECT id FROM addons WHERE id = $1 FOR UPDATE', [b.addon_id]);
        const held = (await tx.query<{ running: number; manual: number }>(
          `SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
                  count(*) FILTER (WHERE kind = 'backup' AND NOT scheduled AND status = 'succeeded')::int AS manual
             FROM addon_backups WHERE addon_id = $1`, [b.addon_id])).rows[0];
        if (held.running > 0) throw conflict('A backup or restore of this database is running: wait for it to finish (pg:backups).');
        if (b.kind === 'backup' && !b.scheduled && held.manual >= maxManual) {
          throw quotaExceeded(`This database has ${held.manual} backups taken by hand, the most kept: delete one first (pg:backups:delete).`);
        }
        const r = await tx.query<{ id: string }>(
          `INSERT INTO addon_backups (addon_id, app_id, num, kind, from_name, source_id, scheduled)
             VALUES ($1, $2, (SELECT coalesce(max(num), 0) + 1 FROM addon_backups WHERE app_id = $2), $3, $4, $5, $6) RETURNING id`,
          [b.addon_id, b.app_id, b.kind, b.from_name, b.source_id ?? null, b.scheduled]);
        return r.rows[0].id;
      });
      return (await this.byId(id))!;
    },
    async finish(id: string, result: { size?: number; error?: string }): Promise<void> {
      await db.query(`UPDATE addon_backups SET status = $2, size = $3, error = $4, finished_at = now() WHERE id = $1`,
        [id, result.error ? 'failed' : 'succeeded', result.size ?? null, result.error ?? null]);
    },
    async byId(id: string): Promise<Backup | undefined> {
      return (await db.query<Backup>(`${BACKUP} WHERE b.id = $1`, [id])).rows[0];
    },
    async list(appId: string): Promise<Backup[]> {
      return (await db.query<Backup>(`${BACKUP} WHERE b.app_id = $1 ORDER BY b.num`, [appId])).rows;
    },
    async byNum(appId: string, num: number): Promise<Backup | undefined> {
      return (await db.query<Backup>(`${BACKUP} WHERE b.app_id = $1 AND b.num = $2`, [appId, num])).rows[0];
    },
    async remove(id: string): Promise<void> {
      await db.query('DELETE FROM addon_backups WHERE id = $1', [id]);
    },
    /** Backups the platform was running when it stopped: they did not finish, and say so. */
    async failRunning(before: Date): Promise<number> {
      const r = await db.query(`UPDATE addon_backups SET status = 'failed', error = 'interrupted: the platform stopped while it ran', finished_at = now()
                                 WHERE status = 'running' AND started_at < $1`, [before]);
      return r.rowCount ?? 0;
    },
    /** Succeeded scheduled backups of the add-on beyond the newest `keep`. */
    async scheduledBeyond(addonId: string, keep: number): Promise<Backup[]> {
      return (await db.query<Backup>(`${BACKUP} WHERE b.addon_id = $1 AND b.scheduled AND b.kind = 'backup' AND b.status = 'succeeded'
                                        ORDER BY b.num DESC OFFSET $2`, [addonId, keep])).rows;
    },
    async setSchedule(addonId: string, s: { hour: number; minute: number; timezone: string; retain: number }): Promise<void> {
      await db.query(`INSERT INTO addon_backup_schedules (addon_id, at_hour, at_minute, timezone, retain) VALUES ($1, $2, $3, $4, $5)
                      ON CONFLICT (addon_id) DO UPDATE SET at_hour = $2, at_minute = $3, timezone = $4, retain = $5`,
      [addonId, s.hour, s.minute, s.timezone, s.retain]);
    },
    async removeSchedule(addonId: string): Promise<boolean> {
      return ((await db.query('DELETE FROM addon_backup_schedules WHERE addon_id = $1', [addonId])).rowCount ?? 0) > 0;
    },
    async schedules(addonId?: string): Promise<BackupSchedule[]> {
      return (await db.query<BackupSchedule>(
        `SELECT s.addon_id, ad.name AS addon_name, ad.app_id, s.at_hour, s.at_minute, s.timezone, s.retain, s.last_run_on::text AS last_run_on
           FROM addon_backup_schedules s JOIN addons ad ON ad.id = s.addon_id ${addonId ? 'WHERE s.addon_id = $1' : ''}`, addonId ? [addonId] : [])).rows;
    },
    /** Claims today's run of a schedule (once, whichever worker asks first). */
    async claimRun(addonId: string, day: string): Promise<boolean> {
      const r = await db.query(`UPDATE addon_backup_schedules SET last_run_on = $2::date WHERE addon_id = $1 AND (last_run_on IS NULL OR last_run_on < $2::date)`, [addonId, day]);
      return r.rowCount === 1;
    },
  };
}

export type BackupStore = ReturnType<typeof createBackupStore>;
