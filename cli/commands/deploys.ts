import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';
import { keyValues, table } from '../output.js';

const run = promisify(execFile);

interface App { name: string; git_url: string }
interface Build {
  id: string; status: string; created_at: string; started_at: string | null; finished_at: string | null; error: string | null;
  source_blob: { version: string | null }; user: { email: string | null }; buildpacks: { name: string }[]; release: { version: number } | null;
  output_stream_url: string;
}
interface Release { id: string; version: number; description: string; status: string; current: boolean; created_at: string; user: { email: string | null }; slug: { id: string } | null; process_types: Record<string, string> }

const ago = (iso: string) => new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
const seconds = (b: Build) => (b.started_at && b.finished_at ? `${((Date.parse(b.finished_at) - Date.parse(b.started_at)) / 1000).toFixed(1)}s` : '');

export function registerDeploys(program: Command, ctx: Ctx): void {
  const json = (v: unknown) => ctx.print(JSON.stringify(v, null, 2));

  program
    .command('git:remote')
    .description('add a git remote named slipway for an app (credentials come from ~/.netrc, never the URL)')
    .option(...appOption)
    .option('-r, --remote <name>', 'the remote name', 'slipway')
    .action(async (opts: { app?: string; remote: string }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(opts.remote)) throw new CliError(`Not a valid remote name: ${opts.remote}`);
      const app = await (await ctx.api()).get<App>(appPath(await ctx.app(opts)));
      const existing = await run('git', ['remote', 'get-url', '--', opts.remote]).then(() => true, () => false);
      await run('git', existing ? ['remote', 'set-url', '--', opts.remote, app.git_url] : ['remote', 'add', '--', opts.remote, app.git_url]).catch((e: { stderr?: string }) => {
        throw new CliError(`git could not set the remote: ${(e.stderr ?? '').trim() || 'is this a git repository?'}`);
      });
      ctx.print(`set git remote ${opts.remote} to ${app.git_url}`);
    });

  program
    .command('builds')
    .description("list an app's builds, newest first")
    .option(...appOption)
    .option('-n, --num <n>', 'how many', '15')
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const max = Math.max(1, Math.min(1000, Number(opts.num) || 15));
      const builds = await (await ctx.api()).get<Build[]>(`${appPath(await ctx.app(opts))}/builds`, { range: `created_at ..; order=desc, max=${max}` });
      if (opts.json) return json(builds);
      table(ctx.print, ['ID', 'Status', 'Commit', 'Release', 'By', 'Created', 'Took'], builds.map((b) => [
        b.id, b.status, b.source_blob.version?.slice(0, 7), b.release ? `v${b.release.version}` : '', b.user.email, ago(b.created_at), seconds(b),
      ]));
    });

  program
    .command('builds:info [id]')
    .description('show a build (default: the newest) and, with --output, its log')
    .option(...appOption)
    .option('--output', 'print the build log')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, opts: { app?: string; output?: boolean; json?: boolean }) => {
      const api = await ctx.api();
      const base = `${appPath(await ctx.app(opts))}/builds`;
      const build = id ? await api.get<Build>(`${base}/${encodeURIComponent(id)}`) : (await api.get<Build[]>(base, { range: 'created_at ..; order=desc, max=1' }))[0];
      if (!build) throw new CliError('This app has no builds yet.');
      if (opts.json) return json(build);
      keyValues(ctx.print, `Build ${build.id}`, [
        ['Status', build.status], ['Commit', build.source_blob.version], ['Buildpacks', build.buildpacks.map((b) => b.name).join(', ')],
        ['Release', build.release ? `v${build.release.version}` : ''], ['By', build.user.email], ['Created', build.created_at], ['Took', seconds(build)],
        ['Error', build.error ?? ''],
      ]);
      if (opts.output) {
        ctx.print('');
        ctx.print(await api.getText(new URL(build.output_stream_url).pathname));
      }
    });

  program
    .command('releases')
    .description("list an app's releases, newest first")
    .option(...appOption)
    .option('-n, --num <n>', 'how many', '15')
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const max = Math.max(1, Math.min(1000, Number(opts.num) || 15));
      const name = await ctx.app(opts);
      const releases = await (await ctx.api()).get<Release[]>(`${appPath(name)}/releases`, { range: `version ..; order=desc, max=${max}` });
      if (opts.json) return json(releases);
      if (releases.length === 0) return ctx.print(`${name} has no releases yet.`);
      ctx.print(`=== ${name} Releases`);
      table(ctx.print, ['Version', 'Description', 'Status', 'By', 'Created'], releases.map((r) => [
        `v${r.version}${r.current ? ' (current)' : ''}`, r.description, r.status, r.user.email, ago(r.created_at),
      ]));
    });

  program
    .command('releases:info [version]')
    .description('show a release (default: the current one)')
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (version: string | undefined, opts: { app?: string; json?: boolean }) => {
      const api = await ctx.api();
      const base = `${appPath(await ctx.app(opts))}/releases`;
      const r = version
        ? await api.get<Release>(`${base}/${encodeURIComponent(version.replace(/^v/, ''))}`)
        : (await api.get<Release[]>(base, { range: 'version ..; order=desc, max=200' })).find((x) => x.current);
      if (!r) throw new CliError('This app has no current release.');
      if (opts.json) return json(r);
      keyValues(ctx.print, `Release v${r.version}`, [
        ['Description', r.description], ['Status', r.status], ['Current', r.current ? 'yes' : 'no'], ['By', r.user.email], ['Created', r.created_at],
        ['Slug', r.slug?.id ?? ''], ['Process types', Object.entries(r.process_types).map(([t, c]) => `${t}: ${c}`).join('; ')],
      ]);
    });
}
