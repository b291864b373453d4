import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';
import { bytes, keyValues, table } from '../output.js';
import { addonOf } from './addons.js';

interface Transfer {
  uuid: string; num: number; name: string; from_name: string; to_type: string; to_url: string | null; status: 'running' | 'succeeded' | 'failed';
  source_bytes: number | null; error: string | null; created_at: string; finished_at: string | null; addon: { name: string }; app: { name: string };
}

const transfers = (app: string) => `/client/v11/apps/${encodeURIComponent(app)}/transfers`;
const statusOf = (t: Transfer) => (t.status === 'succeeded' ? `Completed ${t.finished_at}` : t.status === 'failed' ? `Failed ${t.finished_at}: ${t.error}` : 'Running');

/** Backups of PostgreSQL add-ons: Heroku's pg:backups commands. */
export function registerPgBackups(program: Command, ctx: Ctx): void {
  /** Waits for a capture or restore to finish; fails with its error. */
  async function wait(app: string, t: Transfer, action: string): Promise<Transfer> {
    process.stderr.write(`${action}... `);
    let now = t;
    while (now.status === 'running') {
      await new Promise((r) => setTimeout(r, 500));
      now = await (await ctx.api()).get<Transfer>(`${transfers(app)}/${now.num}`);
    }
    if (now.status === 'failed') {
      process.stderr.write('!\n');
      throw new CliError(`${now.name} failed: ${now.error}`);
    }
    process.stderr.write('done\n');
    return now;
  }
  /** `b001`, `APP::b001`, or the app's latest completed backup. */
  async function backupOf(app: string, ident?: string): Promise<{ app: string; t: Transfer }> {
    const [owner, name] = ident?.includes('::') ? ident.split('::', 2) : [app, ident];
    const api = await ctx.api();
    if (name) return { app: owner, t: await api.get<Transfer>(`${transfers(owner)}/${encodeURIComponent(name)}`) };
    const done = (await api.get<Transfer[]>(transfers(owner))).filter((t) => t.to_type !== 'pg_restore' && t.status === 'succeeded');
    if (!done.length) throw new CliError(`${owner} has no completed backups. Take one: slipway pg:backups:capture -a ${owner}`);
    return { app: owner, t: done[done.length - 1] };
  }

  program
    .command('pg:backups')
    .description("list the app's backups and restores, with size and status")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const all = await (await ctx.api()).get<Transfer[]>(transfers(app));
      const backups = all.filter((t) => t.to_type !== 'pg_restore');
      const restores = all.filter((t) => t.to_type === 'pg_restore');
      ctx.print('=== Backups');
      if (!backups.length) ctx.print(`No backups. Capture one with slipway pg:backups:capture`);
      else table(ctx.print, ['ID', 'Created at', 'Status', 'Size', 'Database'], backups.reverse().map((t) => [t.name, t.created_at, statusOf(t), t.source_bytes === null ? '' : bytes(t.source_bytes), t.from_name]));
      ctx.print('');
      ctx.print('=== Restores');
      if (!restores.length) ctx.print('No restores found. Use slipway pg:backups:restore to restore a backup');
      else table(ctx.print, ['ID', 'Started at', 'Status', 'Size', 'Database'], restores.reverse().map((t) => [t.name, t.created_at, statusOf(t), t.source_bytes === null ? '' : bytes(t.source_bytes), t.from_name]));
    });

  program
    .command('pg:backups:capture [database]')
    .description('take a backup of the database now (pg_dump, custom format) and wait for it')
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      const t = await (await ctx.api()).post<Transfer>(`/client/v11/databases/${encodeURIComponent(a.id)}/backups`, {});
      const done = await wait(t.app.name, t, `Backing up ${t.from_name} to ${t.name}`);
      ctx.print(`${done.name}: ${bytes(done.source_bytes ?? 0)}. Restore it with slipway pg:backups:restore ${done.name} -a ${t.app.name}`);
    });

  program
    .command('pg:backups:info [backup]')
    .description('show a backup (default: the latest)')
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const { t } = await backupOf(await ctx.app(opts), ident);
      keyValues(ctx.print, `=== Backup ${t.name}`, [['Database', t.from_name], ['Add-on', t.addon.name], ['Started at', t.created_at], ['Finished at', t.finished_at], ['Status', statusOf(t)], ['Size', t.source_bytes === null ? '' : bytes(t.source_bytes)]]);
    });

  program
    .command('pg:backups:restore [backup] [database]')
    .description("restore a backup (b001, APP::b001; default the latest) into the database, replacing its data; --confirm APP")
    .option(...appOption)
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (backup: string | undefined, ident: string | undefined, opts: { app?: string; confirm?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      const { t: source } = await backupOf(app, backup);
      if (opts.confirm !== app) throw new CliError(`This replaces the data of ${a.name} with ${source.name}. To proceed, run again with --confirm ${app}`);
      const r = await (await ctx.api()).post<Transfer>(`/client/v11/databases/${encodeURIComponent(a.id)}/restores`, { backup_url: source.to_url });
      await wait(r.app.name, r, `Restoring ${source.name} to ${r.from_name}`);
    });

  program
    .command('pg:backups:download [backup]')
    .description('download a backup (default: the latest) to a file')
    .option(...appOption)
    .option('-o, --output <file>', 'where to write it', 'latest.dump')
    .action(async (ident: string | undefined, opts: { app?: string; output: string }) => {
      const { app, t } = await backupOf(await ctx.app(opts), ident);
      const size = await (await ctx.api()).download(`${transfers(app)}/${t.num}/download`, opts.output);
      ctx.print(`Downloading ${t.name}... done (${bytes(size)} to ${opts.output})`);
    });

  program
    .command('pg:backups:url [backup]')
    .description('a URL that downloads a backup (default: the latest) once, within 10 minutes, without a token')
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const { app, t } = await backupOf(await ctx.app(opts), ident);
      ctx.print((await (await ctx.api()).post<{ url: string }>(`${transfers(app)}/${t.num}/actions/public-url`, {})).url);
    });

  program
    .command('pg:backups:delete <backup>')
    .description('delete a backup; --confirm APP')
    .option(...appOption)
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (ident: string, opts: { app?: string; confirm?: string }) => {
      const app = await ctx.app(opts);
      if (opts.confirm !== app) throw new CliError(`To delete ${ident} of ${app}, run again with --confirm ${app}`);
      await (await ctx.api()).delete(`${transfers(app)}/${encodeURIComponent(ident)}`);
      ctx.print(`Deleting backup ${ident} on ${app}... done`);
    });

  program
    .command('pg:backups:schedule [database]')
    .description("back the database up every day at a time (--at 'HH:MM [TZ]'), keeping the last --retain N")
    .option(...appOption)
    .requiredOption('--at <time>', "time of day and time zone, e.g. '02:00 Europe/Paris' (default zone UTC)")
    .option('--retain <n>', 'scheduled backups kept', '7')
    .action(async (ident: string | undefined, opts: { app?: string; at: string; retain: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      const [time, timezone] = opts.at.trim().split(/\s+/);
      const s = await (await ctx.api()).post<{ at: string }>(`/client/v11/databases/${encodeURIComponent(a.id)}/transfer-schedules`, { hour: time, timezone, retain: Number(opts.retain) });
      ctx.print(`Scheduling daily backups of ${a.name} at ${s.at}, keeping ${opts.retain}... done`);
    });

  program
    .command('pg:backups:schedules')
    .description("list the app's backup schedules")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const all = (await (await ctx.api()).get<{ id: string; name: string; addon_service: { name: string } }[]>(`${appPath(app)}/addons`)).filter((a) => a.addon_service.name === 'heroku-postgresql');
      ctx.print('=== Backup Schedules');
      for (const a of all) {
        for (const s of await (await ctx.api()).get<{ name: string; at: string; retain: number }[]>(`/client/v11/databases/${a.id}/transfer-schedules`)) ctx.print(`${s.name}: daily at ${s.at}, keeping ${s.retain}`);
      }
    });

  program
    .command('pg:backups:unschedule [database]')
    .description('stop the daily backups of the database')
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      await (await ctx.api()).delete(`/client/v11/databases/${encodeURIComponent(a.id)}/transfer-schedules/${a.id}`);
      ctx.print(`Stopping daily backups of ${a.name}... done`);
    });
}
