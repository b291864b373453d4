import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, type Ctx } from '../context.js';
import { keyValues } from '../output.js';
import { runAttached } from './dynos.js';
import { addonOf, attachmentOn } from './addons.js';

interface DatabaseInfo {
  info: { name: string; values: string[] }[];
}

/** PostgreSQL add-ons: pg:info, pg:psql, pg:credentials:rotate (backups: pg-backups.ts). */
export function registerPg(program: Command, ctx: Ctx): void {
  program
    .command('pg:info [database]')
    .description("show the app's databases: plan, status, connections, data size")
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const api = await ctx.api();
      const all = ident ? [await addonOf(ctx, app, ident, 'postgresql')]
        : (await api.get<Awaited<ReturnType<typeof addonOf>>[]>(`/apps/${encodeURIComponent(app)}/addons`)).filter((a) => a.addon_service.name === 'heroku-postgresql');
      if (!all.length) return ctx.print(`${app} has no postgresql databases.`);
      for (const a of all) {
        const db = await api.get<DatabaseInfo>(`/client/v11/databases/${a.id}`);
        const pairs: [string, unknown][] = db.info.filter((i) => i.values.length).map((i) => [i.name, i.values.join(', ')]);
        if (a.app.name !== app) pairs.push(['Billing App', a.app.name]);
        pairs.push(['Add-on', a.name]);
        keyValues(ctx.print, `=== ${attachmentOn(a, app)}_URL`, pairs);
        ctx.print('');
      }
    });

  program
    .command('pg:psql [database]')
    .description("an interactive psql on the app's database, from a one-off dyno (the server is reachable only from the dyno network)")
    .option(...appOption)
    .option('-c, --command <sql>', 'run one SQL command and exit')
    .action(async (ident: string | undefined, opts: { app?: string; command?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      const url = `"$${attachmentOn(a, app)}_URL"`; // expanded by the dyno's shell: the URL never leaves the dyno
      const sql = opts.command === undefined ? '' : ` -c '${opts.command.replace(/'/g, `'"'"'`)}'`;
      await runAttached(ctx, app, `psql ${url}${sql}`);
    });

  program
    .command('pg:credentials:rotate [database]')
    .description('replace the database password: the old one stops working, attached apps restart with the new URL; --confirm APP')
    .option(...appOption)
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (ident: string | undefined, opts: { app?: string; confirm?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'postgresql');
      if (opts.confirm !== app) throw new CliError(`Connections with the current password are ended and every attached app restarts. To proceed, run again with --confirm ${app}`);
      await (await ctx.api()).post(`/postgres/v0/databases/${encodeURIComponent(a.name)}/credentials_rotation`, {});
      ctx.print(`Rotating the credentials of ${a.name}... done`);
    });
}
