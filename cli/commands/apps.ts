import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';
import { bytes, keyValues, table } from '../output.js';

interface App {
  id: string; name: string; owner: { email: string }; web_url: string; git_url: string; stack: { name: string };
  repo_size: number | null; slug_size: number | null; maintenance: boolean; created_at: string; released_at: string | null;
}
interface Collaborator { user: { email: string }; role: string; created_at: string }
interface DiskUsage { repo_bytes: number; slugs: { count: number; bytes: number }; images: { own_bytes: number; shared_bytes: number } }

/** What the app keeps: its repository, its slugs' layers (its own and shared), and slug files made before layers. */
function diskUsage(d: DiskUsage): string {
  const files = d.slugs.bytes ? `, slug files ${bytes(d.slugs.bytes)}` : '';
  return `${bytes(d.repo_bytes + d.slugs.bytes + d.images.own_bytes)} (${d.slugs.count} slug${d.slugs.count === 1 ? '' : 's'} kept: layers ${bytes(d.images.own_bytes)} of its own and ${bytes(d.images.shared_bytes)} shared with other apps${files})`;
}


export function registerApps(program: Command, ctx: Ctx): void {
  const json = (v: unknown) => ctx.print(JSON.stringify(v, null, 2));

  program
    .command('apps')
    .description('list your apps')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const apps = await (await ctx.api()).get<App[]>('/apps');
      if (opts.json) return json(apps);
      if (apps.length === 0) return ctx.print('You have no apps. Create one with: slipway apps:create [NAME]');
      table(ctx.print, ['Name', 'Owner', 'Web URL'], apps.map((a) => [a.name, a.owner.email, a.web_url]));
    });

  program
    .command('apps:create [name]')
    .description('create an app (a random name when none is given)')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const app = await (await ctx.api()).post<App>('/apps', name ? { name } : {});
      if (opts.json) return json(app);
      ctx.print(`Creating ${app.name}... done`);
      ctx.print(`${app.web_url} | ${app.git_url}`);
    });

  program
    .command('apps:info')
    .description('show an app')
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const api = await ctx.api();
      const app = await api.get<App>(appPath(await ctx.app(opts)));
      if (opts.json) return json(app);
      const disk = await api.get<DiskUsage>(`${appPath(app.name)}/disk-usage`);
      keyValues(ctx.print, app.name, [
        ['Git URL', app.git_url], ['Owner', app.owner.email], ['Repo Size', bytes(app.repo_size)], ['Slug Size', bytes(app.slug_size)],
        ['Disk Usage', diskUsage(disk)],
        ['Stack', app.stack.name], ['Web URL', app.web_url], ['Maintenance', app.maintenance ? 'on' : 'off'], ['Created', app.created_at],
      ]);
    });

  program
    .command('apps:rename <newname>')
    .description('rename an app')
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (newname: string, opts: { app?: string; json?: boolean }) => {
      const old = await ctx.app(opts);
      const app = await (await ctx.api()).patch<App>(appPath(old), { name: newname });
      if (opts.json) return json(app);
      ctx.print(`Renaming ${old} to ${app.name}... done`);
      ctx.print(`${app.web_url} | ${app.git_url}`);
    });

  program
    .command('apps:destroy')
    .description('destroy an app and everything it has; --confirm APP is required')
    .option(...appOption)
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (opts: { app?: string; confirm?: string }) => {
      const name = opts.app ?? opts.confirm ?? (await ctx.app(opts));
      if (opts.confirm !== name) throw new CliError(`This destroys ${name} and all its data. To proceed, run again with --confirm ${name}`);
      await (await ctx.api()).delete(appPath(name));
      ctx.print(`Destroying ${name}... done`);
    });

  program
    .command('access')
    .description('list who can reach an app')
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const rows = await (await ctx.api()).get<Collaborator[]>(`${appPath(await ctx.app(opts))}/collaborators`);
      if (opts.json) return json(rows);
      table(ctx.print, ['Email', 'Role'], rows.map((c) => [c.user.email, c.role]));
    });

  program
    .command('access:add <email>')
    .description('give a user access to an app')
    .option(...appOption)
    .action(async (email: string, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).post(`${appPath(name)}/collaborators`, { user: email });
      ctx.print(`Adding ${email} access to ${name}... done`);
    });

  program
    .command('access:remove <email>')
    .description("remove a user's access to an app")
    .option(...appOption)
    .action(async (email: string, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).delete(`${appPath(name)}/collaborators/${encodeURIComponent(email)}`);
      ctx.print(`Removing ${email} access from ${name}... done`);
    });
}
