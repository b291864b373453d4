/**
 * Faults of what the roles stand on, under a real `slipway up` (embedded PostgreSQL and Redis) with an app serving.
 * Each states the expected outcome and asserts it:
 * - PostgreSQL stopped: the router keeps serving its last routes, the API answers 503 naming the database (never a
 *   500), `slipway up` starts PostgreSQL again and everything works after.
 * - Redis restarted while builds wait in the queue: the queued builds still run (AOF), the router keeps serving.
 * - The worker killed mid-build: the push fails with a message, the build is marked failed, the running release
 *   keeps serving, and the next push works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { alive, freePort, waitFor } from '../helpers/procs.js';
import { cleanEnv, startUp, type Up } from '../helpers/slipway.js';

const run = promisify(execFile);
const APP = 'steady';
let up: Up;
let dataDir: string;
let apiPort: number;
let routerPort: number;
let token: string;
let src: string;
let gitEnv: Record<string, string>;

type Health = { roles: Record<string, { state: string; pid?: number }> };
const base = () => `http://127.0.0.1:${apiPort}`;
async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(base() + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: r.status, body: parsed as T };
}
const routerStatus = async () => (await requestWithHost(routerPort, `${APP}.localhost`).catch(() => ({ status: 0 }))).status;
const git = (args: string[]) => run('git', args, { cwd: src, env: gitEnv });
const remote = () => `http://x:${token}@127.0.0.1:${apiPort}/${APP}.git`;

const samplers = new Set<() => Promise<unknown>>();
/**
 * Polls fn every `everyMs` until stop() and keeps every result (for "the router never failed" assertions).
 * after() stops any sampler a failed test left running, so a failure cannot keep the test process alive.
 */
function sample<T>(fn: () => Promise<T>, everyMs = 100): { results: T[]; stop(): Promise<T[]> } {
  const results: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      results.push(await fn());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  const stop = async () => ((running = false), samplers.delete(stop), await loop, results);
  samplers.add(stop);
  return { results, stop };
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-backends-'));
  await mkdir(join(dataDir, 'home'));
  [apiPort, routerPort] = [await freePort(), await freePort()];
  const env = cleanEnv({ HOME: join(dataDir, 'home'), SLIPWAY_BUILDPACK_DIRS: join(dataDir, 'host-buildpacks') });
  up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  [, token] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
  await up.waitForOutput(/Press Ctrl-C to stop/);
  assert.equal((await api('POST', '/apps', { name: APP })).status, 201);
  src = join(dataDir, 'src');
  await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
  gitEnv = { ...env, GIT_AUTHOR_NAME: 'f', GIT_AUTHOR_EMAIL: 'f@example.com', GIT_COMMITTER_NAME: 'f', GIT_COMMITTER_EMAIL: 'f@example.com', GIT_TERMINAL_PROMPT: '0' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'first']]) await git(args);
  await git(['push', '-q', remote(), 'main']);
  await waitFor('the app serving', async () => (await routerStatus()) === 200, 60_000, 200);
});
after(async () => {
  for (const stop of [...samplers]) await stop();
  await up?.stop('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('when PostgreSQL stops, then the router keeps serving, the API answers 503 naming the database, and all works once slipway up has started it again', async () => {
  const pidFile = join(dataDir, 'postgres', 'data', 'postmaster.pid');
  const pgPid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  assert.ok(alive(pgPid), 'the embedded postmaster runs');
  const router = sample(routerStatus);
  const apiCalls = sample(() => api<{ message?: string }>('GET', `/apps/${APP}`).catch((e: Error) => ({ status: -1, body: { message: e.message } })));
  process.kill(pgPid, 'SIGINT'); // PostgreSQL's fast shutdown, as `pg_ctl stop -m fast` does
  await waitFor('the API answering 503', () => apiCalls.results.some((r) => r.status === 503), 15_000, 50);
  await waitFor('PostgreSQL started again and the API answering', async () => {
    const newPid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
    return newPid > 0 && newPid !== pgPid && apiCalls.results.at(-1)?.status === 200;
  }, 30_000, 100);
  await new Promise((r) => setTimeout(r, 500));
  const [routerResults, apiResults] = [await router.stop(), await apiCalls.stop()];

  assert.deepEqual([...new Set(routerResults)], [200], 'every request through the router was served');
  const odd = apiResults.filter((r) => r.status !== 200 && r.status !== 503);
  assert.deepEqual(odd, [], 'the API answered only 200 or 503 (no 500, no hang)');
  const unavailable = apiResults.filter((r) => r.status === 503);
  assert.ok(unavailable.length > 0);
  for (const r of unavailable) assert.equal(r.body.message, 'The platform database is unavailable; try again shortly.');

  // Everything works after: a config change is released and deployed, and the router follows it.
  const set = await api('PATCH', `/apps/${APP}/config-vars`, { AFTER_PG: 'yes' });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const version = (await api<{ version: number }[]>('GET', `/apps/${APP}/releases`)).body.at(-1)!.version;
  await waitFor('a web dyno of the new release up', async () =>
    (await api<{ type: string; state: string; release: { version: number } }[]>('GET', `/apps/${APP}/dynos`)).body.some((d) => d.type === 'web' && d.state === 'up' && d.release.version === version), 30_000, 200);
  await waitFor('served', async () => (await routerStatus()) === 200, 10_000, 100);
});

/** Uploads the app's source as a tarball and asks for a build (what CI systems do); returns the build's id. */
async function queueTarballBuild(version: string): Promise<string> {
  const made = await api('POST', `/apps/${APP}/sources`);
  assert.equal(made.status, 201);
  const tgz = join(dataDir, `${version}.tgz`);
  await run('git', ['archive', '--format=tar.gz', '-o', tgz, 'HEAD'], { cwd: src, env: gitEnv });
  const put = await fetch(base() + new URL(made.body.source_blob.put_url).pathname, { method: 'PUT', body: await readFile(tgz), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 200);
  const build = await api('POST', `/apps/${APP}/builds`, { source_blob: { url: made.body.source_blob.get_url, version } });
  assert.equal(build.status, 201, JSON.stringify(build.body));
  return build.body.id;
}

test('when Redis restarts while builds wait in the queue, then the queued builds still run and the router keeps serving', async () => {
  const worker = (await (await fetch(`${base()}/health`)).json() as Health).roles.worker.pid!;
  const redisPid = Number((await readFile(join(dataDir, 'redis', 'redis.pid'), 'utf8')).trim());
  assert.ok(alive(worker) && alive(redisPid));
  const router = sample(routerStatus);
  process.kill(worker, 'SIGSTOP'); // nobody takes jobs: they wait in Redis
  let ids: string[];
  try {
    ids = [await queueTarballBuild('queued-1'), await queueTarballBuild('queued-2')];
    process.kill(redisPid, 'SIGTERM'); // a clean restart: Redis writes its AOF and exits; `slipway up` starts it again
    await waitFor('Redis started again', async () => {
      const pid = Number((await readFile(join(dataDir, 'redis', 'redis.pid'), 'utf8').catch(() => '')).trim());
      return pid > 0 && pid !== redisPid && alive(pid) && (await fetch(`${base()}/health`).then((r) => r.status, () => 0)) !== 0;
    }, 20_000, 100);
  } finally {
    process.kill(worker, 'SIGCONT');
  }
  for (const id of ids) {
    await waitFor(`build ${id} done`, async () => (await api('GET', `/apps/${APP}/builds/${id}`)).body.status !== 'pending', 60_000, 250);
    const b = (await api('GET', `/apps/${APP}/builds/${id}`)).body;
    assert.equal(b.status, 'succeeded', JSON.stringify(b));
  }
  const releases = (await api<{ description: string }[]>('GET', `/apps/${APP}/releases`)).body.map((r) => r.description);
  assert.ok(releases.includes('Deploy queued-1') && releases.includes('Deploy queued-2'), releases.join(', '));
  await waitFor('served', async () => (await routerStatus()) === 200, 10_000, 100);
  const results = await router.stop();
  assert.deepEqual([...new Set(results)], [200], 'every request through the router was served');
});

test('when the worker is killed mid-build, then the push fails with a message, the build is failed, the app keeps serving, and the next push works', async () => {
  // A buildpack that takes its time, so there is a "mid-build" to kill the worker in.
  const bp = join(dataDir, 'host-buildpacks', 'slow-buildpack');
  await mkdir(join(bp, 'bin'), { recursive: true });
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho Slow\n');
  await writeFile(join(bp, 'bin', 'compile'), '#!/bin/sh\necho "compiling slowly"\nsleep 120\n');
  for (const f of ['detect', 'compile']) await chmod(join(bp, 'bin', f), 0o755);
  await chmod(bp, 0o755);
  await writeFile(join(src, '.buildpacks'), `${bp}\n`);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'slow']);
  const before = (await api<{ version: number }[]>('GET', `/apps/${APP}/releases`)).body.at(-1)!.version;

  const router = sample(routerStatus);
  const push = spawn('git', ['push', remote(), 'main'], { cwd: src, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  push.stdout.on('data', (d) => (out += d));
  push.stderr.on('data', (d) => (out += d));
  const pushed = new Promise<number | null>((r) => push.on('exit', r));
  await waitFor('the build compiling', () => out.includes('compiling slowly'), 60_000, 50);
  const worker = (await (await fetch(`${base()}/health`)).json() as Health).roles.worker.pid!;
  process.kill(worker, 'SIGKILL');
  const killedAt = Date.now();
  const code = await Promise.race([pushed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
  assert.notEqual(code, 'hung', `the push ended within a minute of the kill; output:\n${out}`);
  assert.notEqual(code, 0, out);
  assert.match(out, /The worker running this build stopped before it finished\. Push again to retry\./);
  console.log(`push failed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the worker was killed`);
  const builds = (await api<{ status: string; error: string | null }[]>('GET', `/apps/${APP}/builds`)).body;
  assert.equal(builds.at(-1)!.status, 'failed');
  assert.equal((await api<{ version: number }[]>('GET', `/apps/${APP}/releases`)).body.at(-1)!.version, before, 'no release from the killed build');
  // The build container of the dead worker is gone once the new worker has started.
  await waitFor('no build container left', async () => !(await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.match(/^slipway-.*-b[0-9a-f]{8}-build-\d+-w\d+-/m), 20_000, 250);

  await git(['rm', '-q', '.buildpacks']);
  await git(['commit', '-q', '-m', 'fast again']);
  const next = await git(['push', remote(), 'main']);
  assert.match(`${next.stdout}${next.stderr}`, new RegExp(`Released v${before + 1}`));
  const results = await router.stop();
  assert.deepEqual([...new Set(results)], [200], 'the running release served throughout');
});
