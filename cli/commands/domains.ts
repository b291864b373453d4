import type { Command } from 'commander';
import { appOption, appPath, type Ctx } from '../context.js';
import { table } from '../output.js';

interface Domain { hostname: string; kind: 'heroku' | 'custom'; cname: string | null; status: string }

/** Custom domains and maintenance mode: what the router answers for an app, and how. */
export function registerDomains(program: Command, ctx: Ctx): void {
  const domainPath = (app: string, host?: string) => `${appPath(app)}/domains${host ? `/${encodeURIComponent(host)}` : ''}`;

  program
    .command('domains')
    .description("list an app's domains: its default one and custom ones")
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const name = await ctx.app(opts);
      const domains = await (await ctx.api()).get<Domain[]>(domainPath(name));
      if (opts.json) return ctx.print(JSON.stringify(domains, null, 2));
      ctx.print(`=== ${name} Default Domain`);
      ctx.print(domains.find((d) => d.kind === 'heroku')?.hostname ?? '');
      const custom = domains.filter((d) => d.kind === 'custom');
      if (!custom.length) return;
      ctx.print('');
      ctx.print(`=== ${name} Custom Domains`);
      table(ctx.print, ['Domain Name', 'DNS Record Type', 'DNS Target'], custom.map((d) => [d.hostname, 'CNAME', d.cname]));
    });

  program
    .command('domains:add <hostname>')
    .description('route a hostname to the app (point its DNS at the DNS target printed)')
    .option(...appOption)
    .action(async (hostname: string, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const d = await (await ctx.api()).post<Domain>(domainPath(name), { hostname });
      ctx.print(`Adding ${d.hostname} to ${name}... done`);
      ctx.print(`Configure your DNS provider to point ${d.hostname} to the DNS target ${d.cname ?? ''}.`);
    });

  program
    .command('domains:remove <hostname>')
    .description('stop routing a custom hostname to the app')
    .option(...appOption)
    .action(async (hostname: string, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const d = await (await ctx.api()).delete<Domain>(domainPath(name, hostname));
      ctx.print(`Removing ${d.hostname} from ${name}... done`);
    });

  program
    .command('domains:clear')
    .description("remove all of the app's custom domains")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).delete(domainPath(name));
      ctx.print(`Removing all domains from ${name}... done`);
    });

  const maintenance = async (opts: { app?: string }, on?: boolean) => {
    const name = await ctx.app(opts);
    const api = await ctx.api();
    if (on === undefined) return ctx.print((await api.get<{ maintenance: boolean }>(appPath(name))).maintenance ? 'on' : 'off');
    await api.patch(appPath(name), { maintenance: on });
    ctx.print(`${on ? 'Enabling' : 'Disabling'} maintenance mode for ${name}... done`);
  };
  program.command('maintenance').description('show whether maintenance mode is on').option(...appOption).action((o: { app?: string }) => maintenance(o));
  program
    .command('maintenance:on')
    .description('answer every request with the maintenance page (H80) without stopping dynos')
    .option(...appOption)
    .action((o: { app?: string }) => maintenance(o, true));
  program.command('maintenance:off').description('serve the app again').option(...appOption).action((o: { app?: string }) => maintenance(o, false));
}
