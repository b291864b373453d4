import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { appOption, appPath, type Ctx } from '../context.js';
import { CliError } from '../api-client.js';
import { keyValues, table, type Print } from '../output.js';

interface SniEndpoint {
  name: string;
  domains: string[];
  ssl_cert: { 'ca_signed?': boolean; 'self_signed?': boolean; cert_domains: string[]; starts_at: string; expires_at: string; issuer: string; subject: string };
}

function details(print: Print, e: SniEndpoint, title: string): void {
  keyValues(print, title, [
    ['Name', e.name], ['Common Name(s)', e.ssl_cert.cert_domains.join(', ')], ['Expires At', e.ssl_cert.expires_at], ['Starts At', e.ssl_cert.starts_at],
    ['Issuer', e.ssl_cert.issuer], ['Subject', e.ssl_cert.subject], ['Domains', e.domains.length],
  ]);
  print(e.ssl_cert['ca_signed?'] ? 'SSL certificate is verified by a root authority.' : e.ssl_cert['self_signed?'] ? 'SSL certificate is self signed.' : 'SSL certificate is not trusted.');
}

/** Certificates of an app's custom domains (the router serves them over TLS by SNI): Heroku's certs commands. */
export function registerCerts(program: Command, ctx: Ctx): void {
  const certPath = (app: string, name?: string) => `${appPath(app)}/sni-endpoints${name ? `/${encodeURIComponent(name)}` : ''}`;
  const files = async (crt: string, key: string) => {
    const read = (f: string, what: string) => readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`Cannot read the ${what} ${f}: ${e.code ?? e.message}`);
    });
    return { certificate_chain: await read(crt, 'certificate'), private_key: await read(key, 'key') };
  };
  /** The endpoint --name names, or the app's only one. */
  const endpoint = async (app: string, name?: string): Promise<string> => {
    if (name) return name;
    const all = await (await ctx.api()).get<SniEndpoint[]>(certPath(app));
    if (all.length === 1) return all[0].name;
    throw new CliError(all.length === 0 ? `${app} has no SSL certificates.` : `${app} has ${all.length} certificates: say which with --name (${all.map((e) => e.name).join(', ')}).`);
  };

  program
    .command('certs')
    .description("list the app's SSL certificates")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const all = await (await ctx.api()).get<SniEndpoint[]>(certPath(app));
      if (!all.length) return ctx.print(`${app} has no SSL certificates.\nUse slipway certs:add CRT KEY to add one.`);
      table(ctx.print, ['Name', 'Common Name(s)', 'Expires', 'Trusted', 'Domains'],
        all.map((e) => [e.name, e.ssl_cert.cert_domains.join(', '), e.ssl_cert.expires_at, e.ssl_cert['ca_signed?'] ? 'True' : 'False', e.domains.length]));
    });

  program
    .command('certs:add <crt> <key>')
    .description('add a certificate (PEM chain: the server certificate first) and its private key; served for the custom domains it covers')
    .option(...appOption)
    .action(async (crt: string, key: string, opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const e = await (await ctx.api()).post<SniEndpoint>(certPath(app), await files(crt, key));
      ctx.print(`Adding SSL certificate to ${app}... done`);
      details(ctx.print, e, 'Certificate details:');
    });

  program
    .command('certs:info')
    .description('show a certificate of the app')
    .option(...appOption)
    .option('--name <name>', 'which certificate (when the app has several)')
    .action(async (opts: { app?: string; name?: string }) => {
      const app = await ctx.app(opts);
      details(ctx.print, await (await ctx.api()).get<SniEndpoint>(certPath(app, await endpoint(app, opts.name))), 'Certificate details:');
    });

  program
    .command('certs:update <crt> <key>')
    .description('replace a certificate and its key; served within seconds, open connections unaffected')
    .option(...appOption)
    .option('--name <name>', 'which certificate (when the app has several)')
    .action(async (crt: string, key: string, opts: { app?: string; name?: string }) => {
      const app = await ctx.app(opts);
      const name = await endpoint(app, opts.name);
      const e = await (await ctx.api()).patch<SniEndpoint>(certPath(app, name), await files(crt, key));
      ctx.print(`Updating SSL certificate ${name} for ${app}... done`);
      details(ctx.print, e, 'Updated certificate details:');
    });

  program
    .command('certs:remove')
    .description('remove a certificate; its domains get the platform certificate')
    .option(...appOption)
    .option('--name <name>', 'which certificate (when the app has several)')
    .action(async (opts: { app?: string; name?: string }) => {
      const app = await ctx.app(opts);
      const name = await endpoint(app, opts.name);
      await (await ctx.api()).delete(certPath(app, name));
      ctx.print(`Removing SSL certificate ${name} from ${app}... done`);
    });

  registerCertsAuto(program, ctx);
}

interface AutoDomain { hostname: string; kind: string; acm_status: string | null; acm_status_reason: string | null; updated_at: string }

/** Automatic certificates (ACME): certs:auto, certs:auto:enable, certs:auto:disable, certs:auto:refresh. */
function registerCertsAuto(program: Command, ctx: Ctx): void {
  const acmPath = (app: string) => `${appPath(app)}/acm`;
  program
    .command('certs:auto')
    .description("show automatic certificates: whether they are on and each custom domain's state and last error")
    .option(...appOption)
    .action(async (opts: { app?: string }) => {
      const app = await ctx.app(opts);
      const api = await ctx.api();
      const { acm } = await api.get<{ acm: boolean }>(appPath(app));
      ctx.print(`=== Automatic Certificate Management is ${acm ? 'enabled' : 'disabled'} on ${app}`);
      if (!acm) return;
      const domains = (await api.get<AutoDomain[]>(`${appPath(app)}/domains`)).filter((d) => d.kind === 'custom');
      if (!domains.length) return ctx.print('Add a custom domain to your app by running: slipway domains:add <yourdomain.com>');
      table(ctx.print, ['Domain', 'Status', 'Reason', 'Last Updated'], domains.map((d) => [d.hostname, d.acm_status ?? '', d.acm_status_reason ?? '', d.updated_at]));
    });
  const act = (verb: string, method: 'post' | 'delete' | 'patch', body?: unknown) => async (opts: { app?: string }) => {
    const app = await ctx.app(opts);
    const api = await ctx.api();
    await (method === 'patch' ? api.patch(acmPath(app), body) : method === 'post' ? api.post(acmPath(app), {}) : api.delete(acmPath(app)));
    ctx.print(`${verb} Automatic Certificate Management... done`);
  };
  program.command('certs:auto:enable').description('issue and renew certificates for the custom domains automatically (ACME, HTTP-01)').option(...appOption).action(act('Enabling', 'post'));
  program.command('certs:auto:disable').description('stop automatic certificates; the ones issued are removed').option(...appOption).action(act('Disabling', 'delete'));
  program.command('certs:auto:refresh').description('try failed domains again now').option(...appOption).action(act('Refreshing', 'patch', { acm_refresh: true }));
}
