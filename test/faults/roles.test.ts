/**
 * Faults: each role of a real `slipway up` killed with SIGKILL while an app runs. The expected outcome, asserted:
 * `slipway up` restarts the role; the app's desired dynos are back and serving within 15 s; nothing is left once
 * it stops.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { freePort, processesMentioning, waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway, startUp, type Up } from '../helpers/slipway.js';

const run = promisify(execFile);
let up: Up;
let dataDir: string;
let apiPort: number;
let routerPort: number;
let env: Record<string, string>;

type Health = { roles: Record<string, { state: string; pid?: number }> };
const health = async (): Promise<Health> => (await fetch(`http://127.0.0.1:${apiPort}/health`)).json() as Promise<Health>;
const serving = async () => (await requestWithHost(routerPort, 'faulty.localhost').catch(() => ({ status: 0 }))).status === 200;
const dynos = async () => (await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.split('\n').filter(Boolean);

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-faults-'));
  await mkdir(join(dataDir, 'home'));
  [apiPort, routerPort] = [await freePort(), await freePort()];
  env = cleanEnv({ HOME: join(dataDir, 'home'), SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}` });
  up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  const [, token] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
  await up.waitForOutput(/Press Ctrl-C to stop/);
  env.SLIPWAY_API_KEY = token;
  assert.equal((await slipway(['apps:create', 'faulty'], env)).code, 0);
  const src = join(dataDir, 'src');
  await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
  const gitEnv = { ...env, GIT_AUTHOR_NAME: 'f', GIT_AUTHOR_EMAIL: 'f@example.com', GIT_COMMITTER_NAME: 'f', GIT_COMMITTER_EMAIL: 'f@example.com' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'first']]) await run('git', args, { cwd: src, env: gitEnv });
  await run('git', ['push', '-q', `http://x:${token}@127.0.0.1:${apiPort}/faulty.git`, 'main'], { cwd: src, env: gitEnv });
  assert.equal((await slipway(['ps:scale', 'web=2', '-a', 'faulty'], env)).code, 0);
  await waitFor('two web dynos serving', async () => (await dynos()).length === 2 && (await serving()), 60_000, 200);
});
after(async () => {
  await up?.stop('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** SIGKILLs a role and waits for `slipway up` to run a new one; returns the ms until the app serves again. */
async function killRole(role: string): Promise<number> {
  const pid = (await health()).roles[role].pid!;
  assert.ok(pid > 0, `${role} has a pid`);
  process.kill(pid, 'SIGKILL');
  const killed = Date.now();
  await waitFor(`${role} restarted`, async () => {
    const h = await health().catch(() => undefined);
    return h?.roles[role].state === 'up' && h.roles[role].pid !== pid;
  }, 30_000, 100);
  await waitFor('the app serving again', serving, 15_000, 50);
  return Date.now() - killed;
}

test('when the agent is killed with dynos running, then a new agent brings the formation back within 15 s', async () => {
  const before = await dynos();
  const ms = await killRole('agent');
  await waitFor('two web dynos again', async () => (await dynos()).length === 2, 15_000, 100);
  const after = await dynos();
  assert.equal(after.filter((id) => before.includes(id)).length, 0, 'the old agent\'s containers were cleaned, not left beside the new ones');
  assert.match((await slipway(['ps', '-a', 'faulty'], env)).stdout, /web\.1: up[\s\S]*web\.2: up/);
  assert.ok(ms < 15_000, `serving again after ${ms} ms`);
});

test('when the router is killed under load, then it comes back and serves from Postgres; the dynos are untouched', async () => {
  const before = await dynos();
  // Eight clients keep requests going through the kill; each request has a deadline, so none can hang.
  let running = true;
  const outcomes: { at: number; status: number }[] = [];
  const clients = Array.from({ length: 8 }, async () => {
    while (running) {
      const r = await Promise.race([
        requestWithHost(routerPort, 'faulty.localhost').then((x) => x.status, () => 0),
        new Promise<number>((res) => setTimeout(() => res(-1), 5000)),
      ]);
      outcomes.push({ at: Date.now(), status: r });
      if (r !== 200) await new Promise((res) => setTimeout(res, 20));
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const ms = await killRole('router');
  const back = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  running = false;
  await Promise.all(clients);
  assert.ok(ms < 15_000, `serving again after ${ms} ms`);
  assert.ok(outcomes.filter((o) => o.at < back - ms).every((o) => o.status === 200), 'all served before the kill');
  const afterBack = outcomes.filter((o) => o.at > back);
  assert.ok(afterBack.length > 20, `requests after the router came back: ${afterBack.length}`);
  assert.deepEqual([...new Set(afterBack.map((o) => o.status))], [200], 'every request after it came back was served');
  assert.equal(outcomes.filter((o) => o.status === -1).length, 0, 'no request hung');
  assert.deepEqual(await dynos(), before, 'the dynos kept running through the router\'s death');
});

test('when the api is killed, then it comes back and the CLI works again', async () => {
  await killRole('api');
  const set = await slipway(['config:set', 'AFTER=kill', '-a', 'faulty'], env);
  assert.equal(set.code, 0, set.stderr);
  const version = /done, (v\d+)/.exec(set.stdout)![1];
  await waitFor(`${version} serving`, async () => {
    const ps = (await slipway(['ps', '-a', 'faulty'], env)).stdout;
    return new RegExp(`web\\.1: up .* ${version}\\b`).test(ps) && new RegExp(`web\\.2: up .* ${version}\\b`).test(ps) && (await serving());
  }, 30_000, 200);
});

test('when slipway up stops after the faults, then no dyno or process is left', async () => {
  const r = await up.stop('SIGTERM');
  assert.equal(r.code, 0, up.output().slice(-3000));
  assert.deepEqual(processesMentioning(dataDir), []);
  assert.deepEqual(await dynos(), []);
});
