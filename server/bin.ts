#!/usr/bin/env node
/** The `slipway` command: server commands (up, serve) and the client commands of cli/. */
import { Command, CommanderError } from 'commander';
import { CliError } from '../cli/api-client.js';
import { registerClientCommands } from '../cli/program.js';
import { loadConfig, ROLES, type Role } from './config.js';
import { createLogger } from './log.js';
import { serve } from './up/serve.js';
import { up } from './up/up.js';
import { ensureStack, type StackKind } from '../runner/sandbox/stack.js';

const program = new Command('slipway')
  .description('Slipway: git push to deploy, on your own machine')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

program
  .command('up')
  .description('start the whole platform: embedded PostgreSQL and Redis (unless DATABASE_URL/REDIS_URL), api, worker, router, agent')
  .option('--data-dir <dir>', 'where repos, slugs, stacks and embedded databases live (default /var/lib/slipway as root)')
  .option('--api-port <port>', 'API, dashboard and git port (default 5050)')
  .option('--router-port <port>', 'router port (default 8080)')
  .option('--router-tls-port <port>', 'router HTTPS port (default 8443; off for none)')
  .action(async (opts: { dataDir?: string; apiPort?: string; routerPort?: string; routerTlsPort?: string }) => {
    const config = loadConfig(undefined, opts);
    await up(config, createLogger('up', config.logLevel));
  });

program
  .command('serve <role>')
  .description(`run one role alone: ${ROLES.join(', ')}`)
  .option('--data-dir <dir>', 'data dir')
  .option('--api-port <port>', 'API port')
  .option('--router-port <port>', 'router port')
  .option('--router-tls-port <port>', 'router HTTPS port')
  .option('--supervised', 'exit when the parent process is gone (set by slipway up)')
  .action(async (role: string, opts: { dataDir?: string; apiPort?: string; routerPort?: string; routerTlsPort?: string; supervised?: boolean }) => {
    if (!ROLES.includes(role as Role)) throw new CliError(`Unknown role "${role}": one of ${ROLES.join(', ')}.`);
    const config = loadConfig(undefined, opts);
    await serve(role as Role, config, createLogger(role, config.logLevel), { supervised: opts.supervised === true });
  });

program
  .command('stack:build')
  .description('build the run and build stacks (Debian bookworm root filesystems) if missing; needs root')
  .option('--kind <kind>', 'run, build or all', 'all')
  .action(async (opts: { kind: string }) => {
    const config = loadConfig();
    if (!['run', 'build', 'all'].includes(opts.kind)) throw new CliError('--kind is run, build or all');
    if (!config.isRoot) throw new CliError('Building a stack needs root (debootstrap).');
    for (const kind of (opts.kind === 'all' ? ['run', 'build'] : [opts.kind]) as StackKind[]) {
      const path = await ensureStack(config.stacksDir, kind, { log: (l) => process.stdout.write(`-----> ${l}\n`) });
      process.stdout.write(`       ${kind} stack: ${path}\n`);
    }
  });

registerClientCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(` ▸  ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
