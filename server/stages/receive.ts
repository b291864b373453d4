/**
 * Receive: the pre-receive hook of a push connects here. The push is identified by the pid of its
 * git-receive-pack (registered by the git front door with the pusher's identity); main or master is
 * built, anything else is refused. The build's log is relayed live; the exit code decides the ref update.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { TakeTurn } from '../db/turn.js';
import type { BuildLog } from '../builds/build-log.js';
import type { Logger } from '../log.js';
import type { AppService } from '../apps/service.js';
import { isAppError } from '../errors.js';
import type { BuildService } from '../builds/service.js';
import { DEPLOY_REFS, ZERO_SHA } from '../git/git-path.js';
import type { PushRegistry } from '../git/git-http.js';
import { createPushLocks } from '../git/push-lock.js';
import type { Pipeline } from '../queue.js';
import type { RepoStore } from '../services/repo-store.js';

const run = promisify(execFile);

interface Update {
  old: string;
  new: string;
  ref: string;
}

const SHA = /^[0-9a-f]{40}$/;

/** Which update to deploy, or the reason the push is refused. */
export function chooseDeploy(updates: Update[]): { sha: string; ref: string; old: string } | { refuse: string } {
  if (updates.length === 0) return { refuse: 'Nothing to deploy.' };
  for (const u of updates) {
    if (!SHA.test(u.old ?? '') || !SHA.test(u.new ?? '') || typeof u.ref !== 'string') return { refuse: 'Malformed ref update.' };
    if (!DEPLOY_REFS.includes(u.ref)) {
      const name = u.ref.replace(/^refs\/(heads|tags)\//, '').slice(0, 100);
      return { refuse: `Pushing to ${u.ref.startsWith('refs/tags/') ? 'tag' : 'branch'} ${name} is not supported: Slipway deploys main or master (git push slipway HEAD:main).` };
    }
    if (u.new === ZERO_SHA) return { refuse: `Deleting ${u.ref} is not allowed.` };
  }
  if (updates.length > 1) return { refuse: 'Push main or master, not both at once.' };
  return { sha: updates[0].new, ref: updates[0].ref, old: updates[0].old };
}

/** Where a ref of a repo points now (the zero id when it does not exist). */
async function refAt(repoPath: string, ref: string): Promise<string> {
  const r = await run('git', ['--git-dir', repoPath, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => ({ stdout: '' }));
  const sha = r.stdout.trim();
  return SHA.test(sha) ? sha : ZERO_SHA;
}

export function createReceiveServer(deps: {
  socketPath: string;
  pushes: PushRegistry;
  builds: BuildService;
  pipeline: Pick<Pipeline, 'build'>;
  buildLog: BuildLog;
  takeTurn: TakeTurn;
  repos: RepoStore;
  apps: AppService;
  log: Logger;
}) {
  const locks = createPushLocks(deps.takeTurn);
  const handle = (sock: Socket) => {
    const abort = new AbortController();
    const send = (msg: { line?: string; exit?: number }) => {
      if (!sock.destroyed) sock.write(JSON.stringify(msg) + '\n');
    };
    const say = (line: string) => send({ line });
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => abort.abort());
    sock.on('close', () => abort.abort());
    sock.on('data', async (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 1_000_000) sock.destroy();
        return;
      }
      sock.removeAllListeners('data');
      try {
        const req = JSON.parse(buf.slice(0, nl)) as { pid: number; updates: Update[]; quarantine: string | null };
        const push = deps.pushes.get(req.pid);
        if (!push) {
          say(' !     This push did not come through the Slipway git service; refused.');
          return void send({ exit: 1 });
        }
        const choice = chooseDeploy(req.updates);
        if ('refuse' in choice) {
          say(` !     ${choice.refuse}`);
          return void send({ exit: 1 });
        }
        // Pushes to one app take turns, each from here until git has moved the ref, and one that started from a
        // ref another push has since moved is refused before anything is built: git would refuse its ref update
        // anyway, after a release had been made of a commit that is not on the branch.
        const repo = deps.repos.path(push.app.name);
        const branch = choice.ref.replace(/^refs\/heads\//, '');
        const moved = async () => {
          const now = await refAt(repo, choice.ref);
          if (now === choice.old) return false;
          say(` !     ${branch} moved while this push was on its way: another push to ${push.app.name} landed first (${branch} is now at ${now.slice(0, 7)}).`);
          say(` !     Fetch it and push again (git pull slipway ${branch}), or force-push from the new state.`);
          send({ exit: 1 });
          return true;
        };
        if (await moved()) return;
        const unlock = await locks.lock(push.app.id, () => say(`Waiting for another push to ${push.app.name} to finish...`));
        // Once git has moved the ref (or refused), the push's turn ends, and the repo's size is measured once for
        // apps:info (not on every GET /apps/{app}, which the dashboard polls).
        void deps.pushes.ended(req.pid).then(async () => {
          await unlock();
          await deps.apps.refreshRepoSize(push.app).catch((e: Error) => deps.log.warn('repo size not measured', { app: push.app.name, error: e.message }));
        });
        if (abort.signal.aborted) return; // the pusher went away while waiting its turn: nothing to build
        if (await moved()) return;
        const build = await deps.builds.create(push.app, push.user.id, choice.sha);
        await deps.pipeline.build({ buildId: build.id, quarantine: typeof req.quarantine === 'string' ? req.quarantine : null });
        deps.log.info('build queued', { app: push.app.name, build: build.id, sha: choice.sha, user: push.user.email });
        say('Building source:');
        const result = await deps.buildLog.follow(build.id, say, abort.signal);
        if (!result) return;
        if (result.status === 'succeeded') return void send({ exit: 0 });
        say(' !     Push rejected, the build failed. The running release is unchanged; fix the app and push again.');
        send({ exit: 1 });
      } catch (e) {
        // A refusal the pusher should read (a quota, a rate limit) is not the platform failing.
        if (isAppError(e)) deps.log.info('push refused', { why: e.id, message: e.message });
        else deps.log.error('receive failed', { error: (e as Error).message });
        say(` !     Slipway could not take this push: ${(e as Error).message}`);
        send({ exit: 1 });
      } finally {
        sock.end();
      }
    });
  };

  let server: Server | undefined;
  return {
    async listen(): Promise<void> {
      await rm(deps.socketPath, { force: true });
      server = createServer(handle);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(deps.socketPath, () => resolve());
      });
    },
    async close(): Promise<void> {
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await rm(deps.socketPath, { force: true });
    },
  };
}
