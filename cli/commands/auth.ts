import type { Command } from 'commander';
import { createApiClient, CliError, resolveToken } from '../api-client.js';
import type { Ctx } from '../context.js';
import { writeNetrc } from '../netrc.js';
import { prompt } from '../prompt.js';

interface Account { email: string; id: string }

export function registerAuth(program: Command, ctx: Ctx): void {
  program
    .command('login')
    .description('log in with email and password (or --token) and keep the token in ~/.netrc')
    .option('--token <token>', 'use this API token instead of email and password')
    .option('--email <email>', 'the email to log in with (else asked)')
    .action(async (opts: { token?: string; email?: string }) => {
      const machine = new URL(ctx.cfg.apiUrl).hostname;
      let token = opts.token;
      let email: string;
      if (token) {
        email = (await createApiClient(ctx.cfg, token).get<Account>('/account')).email;
      } else {
        email = opts.email ?? (await prompt('Email: '));
        const password = await prompt('Password: ', true);
        const basic = 'Basic ' + Buffer.from(`${email}:${password}`).toString('base64');
        const auth = await createApiClient(ctx.cfg, undefined).post<{ access_token: { token: string }; user: { email: string } }>(
          '/oauth/authorizations', { description: 'slipway CLI login' }, { authorization: basic });
        token = auth.access_token.token;
        email = auth.user.email;
      }
      await writeNetrc(ctx.cfg.netrcPath, machine, { login: email, password: token });
      ctx.print(`Logged in as ${email}`);
    });

  program
    .command('logout')
    .description('forget the stored token')
    .action(async () => {
      await writeNetrc(ctx.cfg.netrcPath, new URL(ctx.cfg.apiUrl).hostname, undefined);
      ctx.print('Logged out');
    });

  program
    .command('auth:whoami')
    .description('the email of the logged-in account')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const api = await ctx.api();
      const me = await api.get<Account>('/account').catch((e: Error) => {
        throw new CliError(`${e.message}`);
      });
      ctx.print(opts.json ? JSON.stringify(me, null, 2) : me.email);
    });

  program
    .command('auth:token')
    .description('print the stored API token (for the dashboard or scripts; keep it secret)')
    .action(async () => {
      const token = await resolveToken(ctx.cfg);
      if (!token) throw new CliError('Not logged in: run slipway login.');
      ctx.print(token);
    });

  program
    .command('users:create <email>')
    .description('create a user (administrators only); the password is asked, or read from stdin')
    .option('--admin', 'make the user an administrator')
    .option('--json', 'print JSON')
    .action(async (email: string, opts: { admin?: boolean; json?: boolean }) => {
      const password = await prompt('Password for the new user: ', true);
      const user = await (await ctx.api()).post<Account>('/users', { email, password, admin: opts.admin === true });
      ctx.print(opts.json ? JSON.stringify(user, null, 2) : `Created user ${user.email}`);
    });
}
