import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createApiClient, CliError, resolveToken, type ApiClient } from './api-client.js';
import { loadCliConfig, type CliConfig } from './config.js';
import type { Print } from './output.js';

const run = promisify(execFile);

export interface Ctx {
  cfg: CliConfig;
  print: Print;
  /** A client with the stored token (or none). */
  api(): Promise<ApiClient>;
  /** The app from -a APP, else from the `slipway` git remote of the current directory. */
  app(opts: { app?: string }): Promise<string>;
}

/** The app name in a remote URL such as http://host:5050/my-app.git. */
export function appFromRemote(url: string): string | undefined {
  const m = /\/([a-z][a-z0-9-]{1,29})\.git\/?$/.exec(url.trim());
  return m?.[1];
}

export function createCtx(print: Print = (l) => process.stdout.write(l + '\n')): Ctx {
  const cfg = loadCliConfig();
  return {
    cfg,
    print,
    async api() {
      return createApiClient(cfg, await resolveToken(cfg));
    },
    async app(opts) {
      if (opts.app) return opts.app;
      const remote = await run('git', ['remote', 'get-url', 'slipway']).then((r) => r.stdout, () => '');
      const fromRemote = remote ? appFromRemote(remote) : undefined;
      if (fromRemote) return fromRemote;
      throw new CliError('No app given. Use -a APP, or run this in a git repository with a `slipway` remote (slipway git:remote -a APP).');
    },
  };
}

export const appPath = (name: string) => `/apps/${encodeURIComponent(name)}`;

/** `-a APP`, on every command about one app (else the app of the `slipway` git remote). */
export const appOption = ['-a, --app <app>', 'the app (default: from the slipway git remote)'] as const;
