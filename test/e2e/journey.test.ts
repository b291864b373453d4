/**
 * The acceptance journey, as a new user takes it: `slipway up` in an empty data dir; a user made and logged in with
 * the CLI; every kind of fixture app created and pushed with git and served through the router at APP.localhost;
 * config visible in the running dyno; scaling out to three web dynos, a worker whose lines reach `logs`; a
 * rollback; the whole platform restarted (apps back to their formation, a stopped app stays stopped); and every
 * app destroyed, with nothing of it left: repo, slugs, build cache, containers, netns, veths, cgroups, routes and
 * log stream.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requestWithHost } from '../helpers/http.js';
import { assertDynosGone, containers } from '../helpers/leftovers.js';
import { FIXTURES } from '../helpers/platform.js';
import { freePort, processesMentioning, waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway, startUp, type Up } from '../helpers/slipway.js';

const run = promisify(execFile);
let dataDir: string;
let env: Record<string, string>;
let args: string[];
let up: Up;
let routerPort: number;

/** Each fixture as its own app, and what its web process answers at /. */
const APPS = [
  { app: 'j-node', fixture: 'node-deps', body: /deps ok 1m &lt;b&gt;/, buildpack: /Node\.js app detected/ },
  { app: 'j-python', fixture: 'python-stdlib', body: /hello from python/, buildpack: /Python app detected/ },
  { app: 'j-static', fixture: 'static-site', body: /Hello from a static site/, buildpack: /Static app detected/ },
  { app: 'j-procfile', fixture: 'procfile-shell', body: /Directory listing/, buildpack: /Procfile app detected/ },
];

const cli = async (argv: string[], stdin?: string, cwd?: string) => {
  const r = await slipway(argv, env, stdin, cwd);
  assert.equal(r.code, 0, `slipway ${argv.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
};
const via = (app: string, path = '/') => requestWithHost(routerPort, `${app}.localhost`, path).catch(() => ({ status: 0, body: '', headers: {} }));
const psOf = async (app: string) => (await slipway(['ps', '-a', app], env)).stdout;
const upCount = (ps: string, type: string) => (ps.match(new RegExp(`^${type}\\.\\d+: up `, 'gm')) ?? []).length;
const appIds = new Map<string, string>();

async function startPlatform() {
  up = startUp(args, env);
  await up.waitForOutput(/Press Ctrl-C to stop/);
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-journey-'));
  await mkdir(join(dataDir, 'home'));
  const apiPort = await freePort();
  routerPort = await freePort();
  env = cleanEnv({ HOME: join(dataDir, 'home'), SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}`, GIT_TERMINAL_PROMPT: '0' });
  args = ['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)];
  await startPlatform();
});
after(async () => {
  await up?.stop('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a new user logs in with the CLI, pushes every kind of app with git, and each is served at APP.localhost', { timeout: 600_000 }, async () => {
  const [, token] = up.output().match(/Admin API token\s+(slw_\S+)/)!;
  await cli(['login', '--token', token!]);
  await cli(['users:create', 'dev@example.com'], 'dev-password\n');
  await cli(['login', '--email', 'dev@example.com'], 'dev-password\n');
  assert.equal((await cli(['auth:whoami'])).trim(), 'dev@example.com');

  for (const a of APPS) {
    assert.match(await cli(['apps:create', a.app]), new RegExp(`Creating ${a.app}\\.\\.\\. done`));
    appIds.set(a.app, JSON.parse(await cli(['apps:info', '-a', a.app, '--json'])).id);
    const src = join(dataDir, 'src', a.app);
    await cp(join(FIXTURES, a.fixture), src, { recursive: true });
    const gitEnv = { ...env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@example.com', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@example.com' };
    for (const g of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'first']]) await run('git', g, { cwd: src, env: gitEnv });
    await cli(['git:remote', '-a', a.app], undefined, src);
    const t0 = Date.now();
    const push = await run('git', ['push', 'slipway', 'main'], { cwd: src, env: gitEnv, maxBuffer: 16 << 20 });
    assert.match(push.stderr, a.buildpack, push.stderr);
    assert.match(push.stderr, /Released v1/);
    await waitFor(`${a.app} served through the router`, async () => a.body.test((await via(a.app)).body), 60_000, 100);
    console.log(`${a.fixture}: push to first answer in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  // Host routing keeps them apart, and a host no app has gets the router's 404.
  assert.match((await via('j-python')).body, /hello from python/);
  assert.doesNotMatch((await via('j-node')).body, /python/);
  assert.equal((await via('no-such-app')).status, 404);
});

test('config set with the CLI is in the running dyno; web scales to three answering dynos; a worker logs; rollback restores', { timeout: 300_000 }, async () => {
  const app = 'j-python';
  assert.match(await cli(['config:set', 'GREETING=hello journey', '-a', app]), /Setting GREETING on j-python\.\.\. done, v2/);
  await waitFor('the new config in the web dyno', async () => (await via(app, '/env/GREETING')).body === 'hello journey\n', 30_000, 100);

  assert.match(await cli(['ps:scale', 'web=3', '-a', app]), /web at 3:/);
  await waitFor('three web dynos up', async () => upCount(await psOf(app), 'web') === 3, 60_000, 250);
  const answered = new Set<string>();
  await waitFor('all three answering through the router', async () => {
    answered.add((await via(app, '/env/DYNO')).body.trim());
    return answered.size === 3;
  }, 10_000, 10);
  assert.deepEqual([...answered].sort(), ['web.1', 'web.2', 'web.3']);

  await cli(['ps:scale', 'worker=1', '-a', app]);
  await waitFor('worker lines in the log', async () => /app\[worker\.1\]: working/.test((await slipway(['logs', '-a', app, '-n', '300'], env)).stdout), 45_000, 500);
  assert.match((await slipway(['logs', '-a', app, '-n', '300'], env)).stdout, /slipway\[router\]: at=info method=GET path="\/env\/DYNO" host=j-python\.localhost/);

  assert.match(await cli(['releases:rollback', 'v1', '-a', app]), /Rolling back j-python to v1\.\.\. done, v3/);
  await waitFor('the rollback serving (GREETING unset again)', async () => (await via(app, '/env/GREETING')).body === '\n', 30_000, 100);
  assert.match(await cli(['releases', '-a', app]), /v3 \(current\) +Rollback to v1/);
  await waitFor('the formation kept through the rollback', async () => {
    const ps = await psOf(app);
    return upCount(ps, 'web') === 3 && upCount(ps, 'worker') === 1;
  }, 60_000, 250);
});

test('when the whole platform is stopped and started, then apps come back to their formation, a stopped app stays stopped, nothing leaks', { timeout: 300_000 }, async () => {
  await cli(['ps:scale', 'web=0', '-a', 'j-static']); // "stopped"
  await waitFor('j-static stopped', async () => (await via('j-static')).status === 503, 30_000, 100);
  // python web×3 + worker, node, procfile: the static app's dyno has drained and stopped.
  await waitFor('six dynos running', async () => (await containers(dataDir)).length === 3 + 1 + 1 + 1, 30_000, 100);

  const r = await up.stop('SIGTERM');
  assert.equal(r.code, 0, up.output().slice(-3000));
  assert.deepEqual(processesMentioning(dataDir), [], 'no process of the platform is left');
  assert.deepEqual(await containers(dataDir), [], 'no dyno is left');

  await startPlatform();
  await waitFor('every app back to its formation', async () => {
    const [py, node, proc] = [await psOf('j-python'), await psOf('j-node'), await psOf('j-procfile')];
    return upCount(py, 'web') === 3 && upCount(py, 'worker') === 1 && upCount(node, 'web') === 1 && upCount(proc, 'web') === 1;
  }, 90_000, 500);
  for (const a of APPS.filter((x) => x.app !== 'j-static')) {
    await waitFor(`${a.app} served again`, async () => a.body.test((await via(a.app)).body), 30_000, 100);
  }
  assert.equal((await via('j-static')).status, 503, 'the stopped app stays stopped (H14)');
  assert.match((await via('j-static')).body, /H14/);
  assert.equal((await psOf('j-static')).trim().split('\n').filter((l) => /^web\./.test(l)).length, 0);
  assert.equal((await containers(dataDir)).length, 6, 'the same dynos as before the restart, no more');
});

test('when every app is destroyed, then its repo, slugs, build cache, dynos, routes and log stream are all gone', { timeout: 300_000 }, async () => {
  const dynoIds = new Map<string, string[]>();
  for (const id of await containers(dataDir)) {
    const owner = [...appIds.entries()].find(([app]) => new RegExp(`^slipway-${app}-v\\d+-[a-z0-9-]+-\\d+-a\\d+-[a-z0-9]{6}$`).test(id));
    assert.ok(owner, `container ${id} belongs to one of the apps`);
    dynoIds.set(owner[0], [...(dynoIds.get(owner[0]) ?? []), id]);
  }
  const redisCli = (cmd: string[]) => run('redis-cli', ['-s', join(dataDir, 'redis', 'redis.sock'), ...cmd]).then((r) => r.stdout.trim());
  assert.ok(Number(await redisCli(['--scan', '--pattern', '*applog*']).then((s) => s.split('\n').filter(Boolean).length)) >= 4, 'log streams exist before');
  // The embedded Redis is bounded, and never evicts (queue data least of all).
  assert.equal(await redisCli(['CONFIG', 'GET', 'maxmemory']), 'maxmemory\n536870912');
  assert.equal(await redisCli(['CONFIG', 'GET', 'maxmemory-policy']), 'maxmemory-policy\nnoeviction');

  for (const a of APPS) {
    const out = await slipway(['apps:destroy', '-a', a.app, '--confirm', a.app], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout + out.stderr, new RegExp(`Destroying ${a.app}.*done`));
  }
  assert.deepEqual(JSON.parse(await cli(['apps', '--json'])), []);
  await waitFor('every dyno stopped', async () => (await containers(dataDir)).length === 0, 60_000, 250);
  for (const [app, ids] of dynoIds) await assertDynosGone(appIds.get(app)!, ids);
  for (const a of APPS) {
    const r = await via(a.app);
    assert.equal(r.status, 404, `${a.app}: the route is gone`);
    const id = appIds.get(a.app)!;
    await waitFor(`${a.app}: its log stream gone`, async () => (await redisCli(['EXISTS', `slipway:applog:${id}`])) === '0' && (await redisCli(['--scan', '--pattern', `*applog:${id}`])) === '', 20_000, 250);
  }
  assert.deepEqual(await readdir(join(dataDir, 'repos')), [], 'no repo');
  assert.deepEqual(await readdir(join(dataDir, 'slugs')).catch(() => []), [], 'no slug file');
  assert.deepEqual(await readdir(join(dataDir, 'cache', 'apps')).catch(() => []), [], 'no build cache');
  await waitFor('no unpacked slug', async () => (await readdir(join(dataDir, 'slug-cache')).catch(() => [])).filter((n) => !n.startsWith('.')).length === 0, 20_000, 250);
  await waitFor('no unpacked slug layer', async () => (await readdir(join(dataDir, 'layer-cache')).catch(() => [])).filter((n) => !n.startsWith('.')).length === 0, 20_000, 250);
  assert.deepEqual(await readdir(join(dataDir, 'run', 'dynos')).catch(() => []), [], 'no dyno dir');

  // The developer's tokens: listed with this one marked; logout revokes it, not only forgets it.
  const token = (await cli(['auth:token'])).trim();
  assert.match(await cli(['authorizations']), /slipway CLI login +expires in 30 days, last used .*\(this one\)/);
  assert.match(await cli(['logout']), /Logged out \(the token is revoked\)/);
  const after = await fetch(`${env.SLIPWAY_API_URL}/account`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(after.status, 401, 'the logged-out token no longer works');
});
