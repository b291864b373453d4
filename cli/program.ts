import type { Command } from 'commander';
import { registerApps } from './commands/apps.js';
import { registerAuth } from './commands/auth.js';
import { registerDeploys } from './commands/deploys.js';
import { registerConfig } from './commands/config.js';
import { registerDynos, registerRun } from './commands/dynos.js';
import { registerDomains } from './commands/domains.js';
import { registerCerts } from './commands/certs.js';
import { registerFeatures } from './commands/features.js';
import { registerAddons } from './commands/addons.js';
import { registerPg } from './commands/pg.js';
import { registerPgBackups } from './commands/pg-backups.js';
import { registerEgress } from './commands/egress.js';
import { registerImages } from './commands/images.js';
import { createCtx, type Ctx } from './context.js';

/** Adds every client command (they talk to the REST API only) to the program. */
export function registerClientCommands(program: Command, ctx: Ctx = createCtx()): void {
  registerAuth(program, ctx);
  registerApps(program, ctx);
  registerDeploys(program, ctx);
  registerConfig(program, ctx);
  registerDynos(program, ctx);
  registerRun(program, ctx);
  registerDomains(program, ctx);
  registerCerts(program, ctx);
  registerFeatures(program, ctx);
  registerAddons(program, ctx);
  registerPg(program, ctx);
  registerPgBackups(program, ctx);
  registerEgress(program, ctx);
  registerImages(program, ctx);
}
