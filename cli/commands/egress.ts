import type { Command } from 'commander';
import { describeEgress, egressFromWords, type EgressPolicy } from '../../platform/egress.js';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';

/** An app's egress policy: what its dynos may reach outside the platform (set by an administrator). */
export function registerEgress(program: Command, ctx: Ctx): void {
  program
    .command('egress')
    .description("show what the app's dynos may reach outside the platform")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const p = await (await ctx.api()).get<EgressPolicy>(`${appPath(name)}/egress`);
      ctx.print(`=== ${name} Egress`);
      for (const line of describeEgress(p)) ctx.print(line);
    });

  program
    .command('egress:set <policy...>')
    .description('administrators: allow (default), deny, or an allowlist of CIDR[:PORT[,PORT...]] (dynos are replaced without downtime)')
    .option(...appOption)
    .action(async (words: string[], opts: { app?: string }) => {
      const name = await ctx.app(opts);
      let policy: EgressPolicy;
      try {
        policy = egressFromWords(words);
      } catch (e) {
        throw new CliError(`Egress policy: ${(e as Error).message}`);
      }
      const set = await (await ctx.api()).put<EgressPolicy>(`${appPath(name)}/egress`, policy);
      ctx.print(`Setting the egress policy of ${name}... done`);
      for (const line of describeEgress(set)) ctx.print(line);
    });
}
