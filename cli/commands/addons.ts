import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';
import { latestRelease, releaseSettled } from '../release-wait.js';
import { keyValues, table } from '../output.js';
import { runAttached } from './dynos.js';

export interface AddonView {
  id: string;
  name: string;
  state: string;
  addon_service: { name: string };
  plan: { name: string };
  app: { name: string };
  config_vars: string[];
  created_at: string;
  attachments: { name: string; app: { name: string } }[];
}

interface AttachmentView {
  id: string;
  name: string;
  addon: { id: string; name: string; app: { name: string }; plan: { name: string } };
  app: { name: string };
}

/** Our plan names (postgresql:essential-0) for Heroku's (heroku-postgresql:essential-0) in what we print. */
const plan = (a: { plan: { name: string } }) => a.plan.name.replace(/^heroku-/, '');

/** The add-on an argument names on the app (its name, id, or attachment name like DATABASE), or the app's only one of the service. */
export async function addonOf(ctx: Ctx, app: string, ident: string | undefined, service: 'postgresql' | 'redis'): Promise<AddonView> {
  const api = await ctx.api();
  if (ident) return api.get<AddonView>(`${appPath(app)}/addons/${encodeURIComponent(ident.replace(/_URL$/, ''))}`);
  const all = (await api.get<AddonView[]>(`${appPath(app)}/addons`)).filter((a) => a.addon_service.name === `heroku-${service}`);
  if (all.length === 1) return all[0];
  throw new CliError(all.length === 0 ? `${app} has no ${service} add-on.` : `${app} has ${all.length} ${service} add-ons: say which (${all.map((a) => a.name).join(', ')}).`);
}

/** The attachment of the add-on on the app (its config var is NAME_URL). */
export const attachmentOn = (a: AddonView, app: string) => a.attachments.find((t) => t.app.name === app)?.name ?? a.config_vars[0]?.replace(/_URL$/, '');

/** Add-ons: a PostgreSQL database or a Redis per app, on the platform's add-on servers. Heroku's addons commands. */
export function registerAddons(program: Command, ctx: Ctx): void {
  program
    .command('addons')
    .description("list the app's add-ons (--all: every app's)")
    .option(...appOption)
    .option('--all', 'the add-ons of every app you have access to')
    .action(async (opts: { app?: string; all?: boolean }) => {
      const api = await ctx.api();
      const app = opts.all ? undefined : await ctx.app(opts);
      const all = await api.get<AddonView[]>(app ? `${appPath(app)}/addons` : '/addons');
      if (!all.length) return ctx.print(app ? `${app} has no add-ons.\nUse slipway addons:create postgresql to add a database.` : 'No add-ons.');
      table(ctx.print, ['Add-on', 'Plan', 'State', 'As'], all.map((a) => [
        a.app.name === app || !app ? a.name : `${a.name} (from ${a.app.name})`, plan(a), a.state,
        a.attachments.map((t) => (t.app.name === app ? `${t.name}_URL` : `${t.app.name}::${t.name}`)).join(', '),
      ]));
    });

  program
    .command('addons:create <service>')
    .description('create an add-on: postgresql[:PLAN] or redis[:PLAN] (Heroku names too: heroku-postgresql:essential-0)')
    .option(...appOption)
    .option('--as <name>', 'the attachment name: its config var is NAME_URL (default DATABASE or REDIS)')
    .option('--name <name>', 'a name for the add-on')
    .action(async (service: string, opts: { app?: string; as?: string; name?: string }) => {
      const app = await ctx.app(opts);
      const a = await (await ctx.api()).post<AddonView>(`${appPath(app)}/addons`, { plan: { name: service }, name: opts.name, attachment: { name: opts.as } });
      ctx.print(`Creating ${plan(a)} on ${app}... ${a.state === 'provisioned' ? 'done' : a.state}`);
      ctx.print(`Created ${a.name} as ${a.config_vars.join(', ')}`);
      // As config:set does: back once the release with the URL runs (a one-off started now has it).
      await releaseSettled(ctx, app, (await latestRelease(ctx, app))?.version, `Restarting ${app} with ${a.config_vars.join(', ')}`);
    });

  program
    .command('addons:info <addon>')
    .description('show an add-on: plan, state, the apps it is attached to')
    .option(...appOption)
    .action(async (ident: string, opts: { app?: string }) => {
      const api = await ctx.api();
      const app = opts.app ?? (await ctx.app(opts).catch(() => undefined));
      const a = app ? await api.get<AddonView>(`${appPath(app)}/addons/${encodeURIComponent(ident)}`).catch(() => api.get<AddonView>(`/addons/${encodeURIComponent(ident)}`))
        : await api.get<AddonView>(`/addons/${encodeURIComponent(ident)}`);
      keyValues(ctx.print, `=== ${a.name}`, [
        ['Attachments', a.attachments.map((t) => `${t.app.name}::${t.name}`).join(', ')], ['Installed at', a.created_at], ['Owning app', a.app.name],
        ['Plan', plan(a)], ['Price', 'free'], ['State', a.state], ['Config vars', a.config_vars.join(', ')],
      ]);
    });

  program
    .command('addons:destroy <addon>')
    .description("destroy an add-on and its data (a database's backups too); --confirm APP is required")
    .option(...appOption)
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (ident: string, opts: { app?: string; confirm?: string }) => {
      const app = await ctx.app(opts);
      const api = await ctx.api();
      const a = await api.get<AddonView>(`${appPath(app)}/addons/${encodeURIComponent(ident)}`);
      if (opts.confirm !== a.app.name) throw new CliError(`This destroys ${a.name} and its data for good. To proceed, run again with --confirm ${a.app.name}`);
      await api.delete(`${appPath(a.app.name)}/addons/${encodeURIComponent(a.id)}`);
      ctx.print(`Destroying ${a.name} on ${a.app.name}... done`);
    });

  program
    .command('addons:attach <addon>')
    .description('attach an existing add-on to another app of yours: it gets the URL as NAME_URL')
    .option(...appOption)
    .option('--as <name>', 'the attachment name (default DATABASE or REDIS, else a colored name)')
    .action(async (ident: string, opts: { app?: string; as?: string }) => {
      const app = await ctx.app(opts);
      const t = await (await ctx.api()).post<AttachmentView>('/addon-attachments', { addon: ident, app, name: opts.as });
      ctx.print(`Attaching ${t.addon.name} to ${app}... done`);
      ctx.print(`Setting ${t.name}_URL config var and restarting ${app}... done`);
    });

  program
    .command('addons:detach <attachment>')
    .description('detach an add-on from the app (its NAME_URL config var is removed; the add-on stays)')
    .option(...appOption)
    .action(async (name: string, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const api = await ctx.api();
      const t = await api.get<AttachmentView>(`${appPath(app)}/addon-attachments/${encodeURIComponent(name.replace(/_URL$/, ''))}`);
      await api.delete(`/addon-attachments/${t.id}`);
      ctx.print(`Detaching ${t.name} from ${app}... done`);
      ctx.print(`Unsetting ${t.name}_URL config var and restarting ${app}... done`);
    });

  program
    .command('redis:cli [redis]')
    .description("an interactive redis-cli on the app's Redis, from a one-off dyno (the server is reachable only from the dyno network)")
    .option(...appOption)
    .action(async (ident: string | undefined, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const a = await addonOf(ctx, app, ident, 'redis');
      // The URL stays in the dyno: the command names the config var, which the dyno's shell expands. redis-cli reads
      // Heroku's `redis://:PASSWORD@` as an empty user name; `default` is the user that form means.
      const url = `"$(printf %s "$${attachmentOn(a, app)}_URL" | sed 's#^redis://:#redis://default:#')"`;
      await runAttached(ctx, app, `redis-cli --no-auth-warning -u ${url}`);
    });
}
