import type { Command } from 'commander';
import { appOption, appPath, type Ctx } from '../context.js';
import { CliError } from '../api-client.js';

interface Feature { name: string; description: string; enabled: boolean }

/** App features: https-only (redirect plain HTTP to https) and hsts. */
export function registerFeatures(program: Command, ctx: Ctx): void {
  const featurePath = (app: string, name?: string) => `${appPath(app)}/features${name ? `/${encodeURIComponent(name)}` : ''}`;
  program
    .command('features')
    .description("list the app's features and whether each is on")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const all = await (await ctx.api()).get<Feature[]>(featurePath(app));
      ctx.print(`=== App Features ${app}`);
      const width = Math.max(...all.map((f) => f.name.length));
      for (const f of all) ctx.print(`${f.enabled ? '[+]' : '[ ]'} ${f.name.padEnd(width)}  ${f.description}`);
    });
  const set = (enabled: boolean) => async (feature: string, opts: { app?: string }) => {
    const app = await ctx.app(opts);
    const api = await ctx.api();
    const f = await api.get<Feature>(featurePath(app, feature));
    if (f.enabled === enabled) throw new CliError(`${feature} is already ${enabled ? 'enabled' : 'disabled'}.`);
    await api.patch(featurePath(app, feature), { enabled });
    ctx.print(`${enabled ? 'Enabling' : 'Disabling'} ${feature} for ${app}... done`);
  };
  program.command('features:enable <feature>').description('turn a feature on (https-only, hsts)').option(...appOption).action(set(true));
  program.command('features:disable <feature>').description('turn a feature off').option(...appOption).action(set(false));
}
