import type { Command } from 'commander';
import { createApiClient, CliError, resolveToken } from '../api-client.js';
import type { Ctx } from '../context.js';
import { writeNetrc } from '../netrc.js';
import { prompt } from '../prompt.js';

interface Account { email: string; id: string }
interface Authorization { id: string; description: string; last_used_at: string | null; access_token: { token: string | null; expires_in: number | null } }

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
    .description('revoke the stored token and forget it')
    .action(async () => {
      const token = await resolveToken(ctx.cfg);
      let revoked = false;
      if (token) {
        const api = createApiClient(ctx.cfg, token);
        const mine = (await api.get<Authorization[]>('/oauth/authorizations').catch(() => [] as Authorization[])).find((a) => a.access_token?.token === token);
        if (mine) revoked = await api.delete(`/oauth/authorizations/${mine.id}`).then(() => true, () => false);
      }
      await writeNetrc(ctx.cfg.netrcPath, new URL(ctx.cfg.apiUrl).hostname, undefined);
      ctx.print(revoked ? 'Logged out (the token is revoked)' : 'Logged out (the stored token was forgotten; the API did not know it or could not be reached)');
    });

  program
    .command('authorizations')
    .description('your API tokens: which one this is, when each was used and when it expires (never the tokens themselves)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const token = await resolveToken(ctx.cfg);
      const list = await (await ctx.api()).get<Authorization[]>('/oauth/authorizations');
      if (opts.json) return ctx.print(JSON.stringify(list, null, 2));
      for (const a of list) {
        const expires = a.access_token.expires_in === null ? 'never expires' : `expires in ${Math.round(a.access_token.expires_in / 86_400)} days`;
        const used = a.last_used_at ? `last used ${a.last_used_at}` : 'never used';
        ctx.print(`${a.id}  ${a.description || '(no description)'}  ${expires}, ${used}${a.access_token.token === token ? '  (this one)' : ''}`);
      }
    });

  program
    .command('authorizations:revoke [id]')
    .description('revoke one of your API tokens by id, or --all of them (this one too)')
    .option('--all', 'revoke every token of your account')
    .action(async (id: string | undefined, opts: { all?: boolean }) => {
      const api = await ctx.api();
      if (opts.all) {
        const r = await api.delete<{ revoked: number }>('/oauth/authorizations');
        await writeNetrc(ctx.cfg.netrcPath, new URL(ctx.cfg.apiUrl).hostname, undefined);
        return ctx.print(`Revoked ${r.revoked} token${r.revoked === 1 ? '' : 's'}; log in again with slipway login`);
      }
      if (!id) throw new CliError('Give the id of the token to revoke (slipway authorizations lists them), or --all.');
      await api.delete(`/oauth/authorizations/${encodeURIComponent(id)}`);
      ctx.print(`Revoked ${id}`);
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
