import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Backup, BackupStore } from './backup-store.js';
import { backupFileOf, backupName, parseBackupName, type BackupRunner } from './backups.js';
import type { Addon } from './store.js';
import type { Config } from '../config.js';
import { invalidParams, notFound } from '../errors.js';
import type { AddonService } from './service.js';
import type { App, AppService } from '../apps/service.js';
import type { UrlSigner } from '../services/url-signer.js';
import type { User } from '../accounts/users.js';
import { currentUser } from '../api/auth.js';
import { isTimeZone } from './backup-schedule.js';
import { appOf, appRouter } from '../apps/routes.js';

interface Deps {
  apps: AppService; addons: AddonService; backupStore: BackupStore; backups: BackupRunner; config: Config; signer: UrlSigner; redis: Redis;
}

const BACKUP_URL = /^slipway:\/\/backups\/([0-9a-f-]{36})$/;

/** A backup or restore as Heroku's data API's transfer (what both CLIs' pg:backups commands read). */
export function serializeTransfer(b: Backup) {
  const restore = b.kind === 'restore';
  return {
    uuid: b.id, num: b.num, name: backupName(b),
    from_name: b.from_name, from_type: restore ? 'gof3r' : 'pg_dump', to_name: restore ? b.from_name : 'BACKUP', to_type: restore ? 'pg_restore' : 'gof3r',
    to_url: restore ? null : `slipway://backups/${b.id}`, addon: { name: b.addon_name }, app: { name: b.app_name },
    source_bytes: b.size, processed_bytes: b.size ?? 0, succeeded: b.status === 'running' ? null : b.status === 'succeeded', warnings: 0,
    status: b.status, error: b.error, schedule: b.scheduled ? { name: b.from_name } : null, options: {},
    logs: b.error ? [{ created_at: b.finished_at, level: 'error', message: b.error }] : [],
    created_at: b.started_at, started_at: b.started_at, updated_at: b.finished_at ?? b.started_at, finished_at: b.finished_at,
  };
}

/** The file of a completed backup, as a download. */
async function sendBackup(res: Response, config: Config, b: Backup): Promise<void> {
  if (b.kind !== 'backup' || b.status !== 'succeeded') throw invalidParams(`${backupName(b)} is not a completed backup.`);
  const file = backupFileOf(config, b);
  const size = (await stat(file).catch(() => undefined))?.size;
  if (size === undefined) throw notFound(`The file of ${backupName(b)} is missing.`);
  res.set({ 'content-type': 'application/octet-stream', 'content-length': String(size), 'content-disposition': `attachment; filename="${backupName(b)}.dump"` });
  createReadStream(file).pipe(res);
}

/**
 * pg:backups in the shapes of Heroku's data API: capture, list, info, delete, restore, download (a one-use URL or
 * the file through the API), schedules.
 */
export function pgBackupRoutes(deps: Deps): Router {
  const r = appRouter(deps.apps);
  const { addons, backupStore } = deps;

  /** The app a database's backups are listed under: its billing app, else an attached app the user has. */
  const appFor = async (me: User, a: Addon): Promise<{ app: App; from: string }> => {
    for (const t of await addons.attachments(a).then((all) => [...all.filter((x) => x.app_id === a.app_id), ...all])) {
      const app = await deps.apps.get(me, t.app_id).catch(() => undefined);
      if (app) return { app, from: t.name };
    }
    throw notFound("Couldn't find that add-on.");
  };
  const transfer = async (app: App, name: string): Promise<Backup> => {
    const num = parseBackupName(name);
    const b = num === undefined ? undefined : await backupStore.byNum(app.id, num);
    if (!b) throw notFound(`Couldn't find backup ${name.slice(0, 20)} of ${app.name}.`);
    return b;
  };
  r.post('/client/v11/databases/:addon/backups', async (req, res) => {
    const me = currentUser(res);
    const a = await addons.database(me, String(req.params.addon));
    const { app, from } = await appFor(me, a);
    const { backup } = await deps.backups.capture(a, app, from);
    res.status(201).json(serializeTransfer(backup));
  });

  r.get('/client/v11/apps/:app/transfers', async (_req, res) => {
    res.json((await backupStore.list(appOf(res).id)).map(serializeTransfer));
  });

  r.get('/client/v11/apps/:app/transfers/:num', async (req, res) => {
    res.json(serializeTransfer(await transfer(appOf(res), String(req.params.num))));
  });

  r.delete('/client/v11/apps/:app/transfers/:num', async (req, res) => {
    const b = await transfer(appOf(res), String(req.params.num));
    await deps.backups.remove(b);
    res.json(serializeTransfer(b));
  });

  r.get('/client/v11/apps/:app/transfers/:num/download', async (req, res) => {
    await sendBackup(res, deps.config, await transfer(appOf(res), String(req.params.num)));
  });

  r.post('/client/v11/apps/:app/transfers/:num/actions/public-url', async (req, res) => {
    const b = await transfer(appOf(res), String(req.params.num));
    if (b.kind !== 'backup' || b.status !== 'succeeded') throw invalidParams(`${backupName(b)} is not a completed backup.`);
    const ttl = 600;
    res.status(201).json({ url: deps.config.publicUrl + deps.signer.sign(`/backup-downloads/${b.id}`, ttl), expires_at: new Date(Date.now() + ttl * 1000) });
  });

  r.post('/client/v11/databases/:addon/restores', async (req, res) => {
    const me = currentUser(res);
    const target = await addons.database(me, String(req.params.addon));
    const m = BACKUP_URL.exec(String((req.body as { backup_url?: unknown })?.backup_url ?? ''));
    const source = m ? await backupStore.byId(m[1]) : undefined;
    // The backup must be one the user can see: of an app they have access to.
    if (!source || !(await deps.apps.get(me, source.app_id).then(() => true, () => false))) throw notFound("Couldn't find that backup.");
    if (source.kind !== 'backup' || source.status !== 'succeeded') throw invalidParams(`${backupName(source)} is not a completed backup.`);
    await addons.billingApp(me, target);
    const { app, from } = await appFor(me, target);
    const { backup } = await deps.backups.restore(source, target, app, from);
    res.status(201).json(serializeTransfer(backup));
  });

  return r;
}

/** The one-use download URL of a backup (no token: the signature is the permission, and it works once). */
export function backupDownloadRoutes(deps: Pick<Deps, 'backupStore' | 'config' | 'signer' | 'redis'>): Router {
  const r = Router();
  r.get('/backup-downloads/:id', async (req, res) => {
    const id = String(req.params.id);
    if (!deps.signer.verify(`/backup-downloads/${id}`, req.query)) throw notFound('This download link is not valid, or has expired.');
    const first = await deps.redis.set(`${deps.config.redisPrefix}:backup-download:${String(req.query.signature)}`, '1', 'EX', 3600, 'NX');
    if (first !== 'OK') throw notFound('This download link was used already: ask for another (pg:backups:url).');
    const b = await deps.backupStore.byId(id);
    if (!b) throw notFound("Couldn't find that backup.");
    await sendBackup(res, deps.config, b);
  });
  return r;
}

/** pg:backups:schedule(s) and unschedule, in the data API's shapes; --at HH:MM [TZ], a retention of N backups. */
export function pgScheduleRoutes(deps: Pick<Deps, 'apps' | 'addons' | 'backupStore'>): Router {
  const r = Router();
  const database = async (res: Response, ident: string): Promise<Addon> => {
    const me = currentUser(res);
    const a = await deps.addons.database(me, ident);
    await deps.addons.billingApp(me, a);
    return a;
  };
  const shape = (s: { addon_id: string; addon_name: string; at_hour: number; at_minute: number; timezone: string; retain: number }) => ({
    uuid: s.addon_id, name: s.addon_name, hour: s.at_hour, minute: s.at_minute, timezone: s.timezone, retain: s.retain,
    at: `${String(s.at_hour).padStart(2, '0')}:${String(s.at_minute).padStart(2, '0')} ${s.timezone}`,
  });

  r.post('/client/v11/databases/:addon/transfer-schedules', async (req, res) => {
    const a = await database(res, String(req.params.addon));
    const body = (req.body ?? {}) as { hour?: unknown; minute?: unknown; timezone?: unknown; retain?: unknown };
    const m = /^(\d{1,2})(?::(\d{2}))?$/.exec(String(body.hour ?? ''));
    const hour = m ? Number(m[1]) : NaN;
    const minute = m?.[2] !== undefined ? Number(m[2]) : body.minute === undefined ? 0 : Number(body.minute);
    if (!(hour >= 0 && hour <= 23) || !Number.isInteger(minute) || minute < 0 || minute > 59) throw invalidParams('Give the time of day as HH:MM (00:00 to 23:59).');
    const timezone = body.timezone === undefined ? 'UTC' : String(body.timezone);
    if (!isTimeZone(timezone)) throw invalidParams(`Unknown time zone "${timezone.slice(0, 60)}": use a name like UTC or Europe/Paris.`);
    const retain = body.retain === undefined ? 7 : Number(body.retain);
    if (!Number.isInteger(retain) || retain < 1 || retain > 100) throw invalidParams('Retain 1 to 100 scheduled backups.');
    await deps.backupStore.setSchedule(a.id, { hour, minute, timezone, retain });
    res.status(201).json(shape((await deps.backupStore.schedules(a.id))[0]));
  });

  r.get('/client/v11/databases/:addon/transfer-schedules', async (req, res) => {
    const a = await database(res, String(req.params.addon));
    res.json((await deps.backupStore.schedules(a.id)).map(shape));
  });

  r.delete('/client/v11/databases/:addon/transfer-schedules/:schedule', async (req, res) => {
    const a = await database(res, String(req.params.addon));
    if (!(await deps.backupStore.removeSchedule(a.id))) throw notFound(`${a.name} has no backup schedule.`);
    res.json({ uuid: a.id, name: a.name });
  });
  return r;
}
