/**
 * Scheduled backups (pg:backups:schedule --at HH:MM [TZ]): the worker looks every half minute; once the add-on's
 * local time has passed the hour of the day, it claims that day's run (one worker does it) and captures a backup,
 * then removes the scheduled backups beyond the schedule's retention. A failed one stays listed, failed.
 */
import type { Logger } from '../log.js';
import type { BackupStore } from './backup-store.js';
import type { BackupRunner } from './backups.js';
import type { AddonStore } from './store.js';

/** How often the worker looks for schedules that are due. */
export const BACKUP_SCHEDULE_EVERY_MS = 30_000;

/** The date (YYYY-MM-DD) and minutes past midnight of `now` in the time zone. */
export function localTime(now: Date, timezone: string): { day: string; minutes: number } {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(now).map((p) => [p.type, p.value]));
  return { day: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function createBackupScheduler(o: { store: BackupStore; addons: AddonStore; backups: BackupRunner; log: Logger }) {
  async function runDue(now = new Date()): Promise<number> {
    let ran = 0;
    for (const s of await o.store.schedules()) {
      const local = localTime(now, s.timezone);
      if (local.minutes < s.at_hour * 60 + s.at_minute || (s.last_run_on !== null && s.last_run_on >= local.day)) continue;
      if (!(await o.store.claimRun(s.addon_id, local.day))) continue;
      const a = await o.addons.get(s.addon_id);
      const from = a && (await o.addons.attachmentsOfAddon(a.id)).find((t) => t.app_id === a.app_id);
      if (!a || !from) continue;
      const { done } = await o.backups.capture(a, { id: a.app_id }, from.name, true);
      await done;
      for (const old of await o.store.scheduledBeyond(a.id, s.retain)) await o.backups.remove(old);
      o.log.info('scheduled backup taken', { addon: a.name });
      ran++;
    }
    return ran;
  }
  return { runDue };
}
