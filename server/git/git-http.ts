/**
 * Git smart HTTP, in front of node-git-server. Every git route (info/refs, HEAD, upload-pack, receive-pack)
 * is authenticated here — basic auth, any user name, API token as password — and the user must have access
 * to the app. node-git-server only sees requests that passed, with autoCreate off.
 */
import type { DiskGuard } from '../services/disk-guard.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { Git } from 'node-git-server';
import { readCredentials, tokenOf } from '../api/auth.js';
import type { Logger } from '../log.js';
import type { AppService, App } from '../apps/service.js';
import type { RepoStore } from '../services/repo-store.js';
import type { User, UserService } from '../accounts/users.js';
import { parseGitRequest } from './git-path.js';

export interface PushContext {
  user: User;
  app: App;
}

/** In-flight pushes, by the pid of their git-receive-pack: how the pre-receive hook learns who pushed. */
export class PushRegistry {
  private readonly byPid = new Map<number, { ctx: PushContext; ended: Promise<void>; end(): void }>();
  register(pid: number, ctx: PushContext): void {
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    this.byPid.set(pid, { ctx, ended, end });
  }
  unregister(pid: number): void {
    this.byPid.get(pid)?.end();
    this.byPid.delete(pid);
  }
  get(pid: number): PushContext | undefined {
    return this.byPid.get(pid)?.ctx;
  }
  /** Resolves once that git-receive-pack has exited: its ref updates are done (or refused) by then. */
  ended(pid: number): Promise<void> {
    return this.byPid.get(pid)?.ended ?? Promise.resolve();
  }
}

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(message + '\n');
}

export function createGitHandler(deps: { users: UserService; apps: AppService; repos: RepoStore; reposDir: string; pushes: PushRegistry; log: Logger; disk: DiskGuard }) {
  const git = new Git(deps.reposDir, { autoCreate: false });
  const contexts = new WeakMap<IncomingMessage, PushContext>();
  type Action = { req: IncomingMessage; accept(): void; once(ev: 'service', fn: (ps: ChildProcess) => void): void };
  const onService = (action: Action) => {
    const ctx = contexts.get(action.req);
    action.once('service', (ps) => {
      // git exits early on a refused push (size cap, bad pack) while node-git-server still pipes the request
      // into it: without these handlers the EPIPE would take the whole api process down.
      ps.stdin?.on('error', () => undefined);
      ps.stdout?.on('error', () => undefined);
      ps.on('error', (e) => deps.log.warn('git service failed', { error: e.message }));
      if (!ctx || !ps.pid) return;
      deps.pushes.register(ps.pid, ctx);
      ps.once('exit', () => deps.pushes.unregister(ps.pid!));
    });
    action.accept();
  };
  git.on('push', onService as never);
  git.on('tag', onService as never);
  git.on('fetch', onService as never);
  git.on('error' as never, ((e: Error) => deps.log.warn('git error', { error: e.message })) as never);

  return async function handleGit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseGitRequest(req.method ?? 'GET', req.url ?? '');
    if (!parsed) return reply(res, 404, 'Not a Slipway git URL: use http://HOST/APP.git');
    const token = tokenOf(readCredentials(req.headers.authorization));
    const user = token ? await deps.users.forToken(token) : undefined;
    if (!user) {
      return reply(res, 401, 'Authentication required: use any user name and your API token as the password (slipway git:remote sets this up).', {
        'www-authenticate': 'Basic realm="Slipway"',
      });
    }
    let app: App;
    try {
      app = await deps.apps.get(user, parsed.app);
    } catch {
      return reply(res, 404, `Repository not found: ${parsed.app}`);
    }
    if (!(await deps.repos.exists(app.name))) return reply(res, 404, `Repository not found: ${parsed.app}`);
    if (parsed.service === 'receive-pack') {
      // Refused before git receives a byte (git shows this message with the refs request's error).
      const full = await deps.disk.check('A push').then(() => undefined, (e: Error) => e.message);
      if (full) return reply(res, 507, full);
    }
    if (parsed.kind === 'rpc' && parsed.service === 'receive-pack') contexts.set(req, { user, app });
    deps.log.debug('git', { app: app.name, kind: parsed.kind, service: parsed.service, user: user.email });
    git.handle(req, res);
  };
}
