import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';
import { latestRelease, releaseSettled, type Release } from '../release-wait.js';


/** Shell-safe single quoting for `config --shell` output (printed, never run). */
const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

export function registerConfig(program: Command, ctx: Ctx): void {
  const latest = (name: string) => latestRelease(ctx, name);
  const settled = (name: string, version: number | undefined, what: string) => releaseSettled(ctx, name, version, what);

  program
    .command('config')
    .description("show an app's config vars")
    .option(...appOption)
    .option('--json', 'print JSON')
    .option('--shell', 'print KEY=value lines for a shell')
    .action(async (opts: { app?: string; json?: boolean; shell?: boolean }) => {
      const name = await ctx.app(opts);
      const vars = await (await ctx.api()).get<Record<string, string>>(`${appPath(name)}/config-vars`);
      if (opts.json) return ctx.print(JSON.stringify(vars, null, 2));
      if (opts.shell) return Object.entries(vars).forEach(([k, v]) => ctx.print(`${k}=${shellQuote(v)}`));
      ctx.print(`=== ${name} Config Vars`);
      const width = Math.max(0, ...Object.keys(vars).map((k) => k.length)) + 1;
      for (const [k, v] of Object.entries(vars)) ctx.print(`${(k + ':').padEnd(width)} ${v}`);
    });

  program
    .command('config:get <key>')
    .description('print one config var')
    .option(...appOption)
    .action(async (key: string, opts: { app?: string }) => {
      const vars = await (await ctx.api()).get<Record<string, string>>(`${appPath(await ctx.app(opts))}/config-vars`);
      ctx.print(vars[key] ?? '');
    });

  program
    .command('config:set <pairs...>')
    .description('set config vars (KEY=value …); makes a new release')
    .option(...appOption)
    .action(async (pairs: string[], opts: { app?: string }) => {
      const body: Record<string, string> = {};
      for (const p of pairs) {
        const i = p.indexOf('=');
        if (i <= 0) throw new CliError(`${p} is invalid. Use KEY=value.`);
        body[p.slice(0, i)] = p.slice(i + 1);
      }
      const name = await ctx.app(opts);
      await (await ctx.api()).patch(`${appPath(name)}/config-vars`, body);
      await settled(name, (await latest(name))?.version, `Setting ${Object.keys(body).join(', ')} on ${name}`);
    });

  program
    .command('config:unset <keys...>')
    .description('unset config vars; makes a new release')
    .option(...appOption)
    .action(async (keys: string[], opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).patch(`${appPath(name)}/config-vars`, Object.fromEntries(keys.map((k) => [k, null])));
      await settled(name, (await latest(name))?.version, `Unsetting ${keys.join(', ')} on ${name}`);
    });

  program
    .command('releases:rollback [version]')
    .description('roll back to a release (default: the one before the current): its slug and its config')
    .option(...appOption)
    .action(async (version: string | undefined, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const api = await ctx.api();
      let target = version?.replace(/^v/, '');
      if (!target) {
        const rels = await api.get<(Release & { current: boolean; status: string })[]>(`${appPath(name)}/releases`, { range: 'version ..; order=desc, max=200' });
        const current = rels.findIndex((r) => r.current);
        const previous = rels.slice(current + 1).find((r) => r.status === 'succeeded');
        if (current < 0 || !previous) throw new CliError(`${name} has no earlier release to roll back to.`);
        target = String(previous.version);
      }
      const rel = await api.post<Release>(`${appPath(name)}/releases`, { release: target });
      await settled(name, rel.version, `Rolling back ${name} to v${target}`);
    });
}
