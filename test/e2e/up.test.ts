import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, stat, mkdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FIXTURES } from '../helpers/platform.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, descendants, freePort, processesMentioning, waitFor } from '../helpers/procs.js';
import { cleanEnv, networkFor, slipway, startUp, type Up } from '../helpers/slipway.js';
import { requestWithHost } from '../helpers/http.js';
import { assertNoDynoLeft } from '../helpers/leftovers.js';
import { createTestDatabase, createTestRedisPrefix } from '../helpers/services.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function health(apiPort: number) {
  const r = await fetch(`http://127.0.0.1:${apiPort}/health`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; roles: Record<string, { state: string; pid?: number }> } };
}

/** Stops `up` with SIGTERM and asserts that every process it started is gone. */
async function stopAndCheckNothingLeft(up: Up, dataDir: string) {
  const started = descendants(up.child.pid!);
  assert.ok(started.length >= 4, `expected role processes, got ${JSON.stringify(started)}`);
  const r = await up.stop('SIGTERM');
  assert.equal(r.code, 0, `exit code; output:\n${up.output().slice(-3000)}`);
  await waitFor('every started process to be gone', () => started.every((p) => !alive(p.pid)), 10_000);
  assert.deepEqual(processesMentioning(dataDir), [], 'no process mentions the data dir');
  return started;
}

test('when slipway up runs with no URLs, then embedded PostgreSQL and Redis serve a working platform, and SIGTERM leaves nothing running', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-up-'));
  const home = join(dataDir, 'home');
  await mkdir(home);
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const [apiPort, routerPort] = [await freePort(), await freePort()];
  const env = cleanEnv({ HOME: home, SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}`, SLIPWAY_ROUTER_WORKERS: '2' });
  const args = ['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)];

  const up = startUp(args, env);
  cleanups.push(() => up.stop('SIGTERM')); // SIGKILL after 60 s if need be
  const [, token] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
  await up.waitForOutput(/Press Ctrl-C to stop/);
  assert.match(up.output(), /embedded PostgreSQL in/);
  assert.match(up.output(), /embedded Redis in/);

  const tokenFile = join(dataDir, 'admin-token');
  assert.equal((await readFile(tokenFile, 'utf8')).trim(), token);
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
  const kids = descendants(up.child.pid!);
  assert.ok(kids.some((k) => /postgres -D/.test(k.cmd) && k.cmd.includes(dataDir)), 'embedded postgres is a child');
  assert.ok(kids.some((k) => /redis-server/.test(k.cmd)), 'embedded redis is a child');
  assert.ok(kids.every((k) => !/-p 5432|port 6379/.test(k.cmd)));

  const h = await health(apiPort);
  assert.equal(h.status, 200);
  for (const role of ['api', 'worker', 'router', 'agent']) assert.equal(h.body.roles[role].state, 'up', role);

  // The CLI, over HTTP: admin logs in, makes a user; the user logs in and makes an app.
  const admin = await slipway(['login', '--token', token], env);
  assert.equal(admin.code, 0, admin.stderr);
  assert.match(admin.stdout, /Logged in as admin@slipway\.local/);
  assert.match(await readFile(join(home, '.netrc'), 'utf8'), /machine 127\.0\.0\.1/);
  const created = await slipway(['users:create', 'carol@example.com'], env, 'carol-password\n');
  assert.equal(created.code, 0, created.stderr);
  const login = await slipway(['login', '--email', 'carol@example.com'], env, 'carol-password\n');
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await slipway(['auth:whoami'], env)).stdout.trim(), 'carol@example.com');
  const app = await slipway(['apps:create', 'carol-app'], env);
  assert.equal(app.code, 0, app.stderr);
  assert.match(app.stdout, /Creating carol-app\.\.\. done/);
  assert.match(app.stdout, new RegExp(`http://carol-app\\.localhost:${routerPort}/`));
  const list = JSON.parse((await slipway(['apps', '--json'], env)).stdout);
  assert.deepEqual(list.map((a: { name: string }) => a.name), ['carol-app']);
  const info = await slipway(['apps:info', '-a', 'carol-app'], env);
  assert.match(info.stdout, /Owner:\s+carol@example\.com/);
  const bad = await slipway(['apps:create', 'Bad;Name'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /lowercase letters/);
  // Deploy with git through the whole platform, then read it back with the CLI.
  const src = join(dataDir, 'src');
  await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
  const git = (args: string[]) => run('git', args, { cwd: src, env: { ...env, GIT_AUTHOR_NAME: 'c', GIT_AUTHOR_EMAIL: 'c@example.com', GIT_COMMITTER_NAME: 'c', GIT_COMMITTER_EMAIL: 'c@example.com' } });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'first']);
  const remote = await slipway(['git:remote', '-a', 'carol-app'], { ...env }, undefined, src);
  assert.equal(remote.code, 0, remote.stderr);
  assert.match(remote.stdout, new RegExp(`set git remote slipway to http://127\\.0\\.0\\.1:${apiPort}/carol-app\\.git`));
  const push = await git(['push', 'slipway', 'main']);
  assert.match(push.stderr, /remote: +Released v1/);
  const builds = await slipway(['builds', '-a', 'carol-app'], env);
  assert.match(builds.stdout, /succeeded +[0-9a-f]{7} +v1 +carol@example\.com/);
  const log = await slipway(['builds:info', '-a', 'carol-app', '--output'], env);
  assert.match(log.stdout, /Status: +succeeded/);
  assert.match(log.stdout, /-----> Procfile app detected/);
  const releases = await slipway(['releases', '-a', 'carol-app'], env);
  assert.match(releases.stdout, /v1 \(current\) +Deploy [0-9a-f]{7} +succeeded +carol@example\.com/);
  const releaseInfo = await slipway(['releases:info', 'v1', '-a', 'carol-app'], env);
  assert.match(releaseInfo.stdout, /Process types: +web: python3 -m http\.server \$PORT; worker: /);
  const setVar = await slipway(['config:set', 'GREETING=hello world', 'MODE=test', '-a', 'carol-app'], env);
  assert.equal(setVar.code, 0, setVar.stderr);
  assert.match(setVar.stdout, /Setting GREETING, MODE on carol-app\.\.\. done, v2/);
  assert.equal((await slipway(['config:get', 'GREETING', '-a', 'carol-app'], env)).stdout.trim(), 'hello world');
  assert.match((await slipway(['config', '--shell', '-a', 'carol-app'], env)).stdout, /GREETING='hello world'/);
  assert.match((await slipway(['config:unset', 'MODE', '-a', 'carol-app'], env)).stdout, /Unsetting MODE on carol-app\.\.\. done, v3/);
  const rollback = await slipway(['releases:rollback', '-a', 'carol-app'], env);
  assert.match(rollback.stdout, /Rolling back carol-app to v2\.\.\. done, v4/);
  assert.match((await slipway(['config', '-a', 'carol-app'], env)).stdout, /MODE: +test/);
  const badKey = await slipway(['config:set', 'BAD-KEY=1', '-a', 'carol-app'], env);
  assert.equal(badKey.code, 1);
  assert.match(badKey.stderr, /Invalid config var name "BAD-KEY"/);
  const inferred = await slipway(['releases'], env, undefined, src); // the app from the slipway remote
  assert.match(inferred.stdout, /=== carol-app Releases/);

  // Dynos in runc behind the router, driven by the CLI.
  const via = (path = '/', host = 'carol-app.localhost') => requestWithHost(routerPort, host, path);
  await waitFor('web.1 up', async () => /^web\.1: up /m.test((await slipway(['ps', '-a', 'carol-app'], env)).stdout), 60_000, 250);
  assert.equal((await via()).status, 200);
  const scale = await slipway(['ps:scale', 'web=2', 'worker=1', '-a', 'carol-app'], env);
  assert.match(scale.stdout, /now running .*web at 2:Standard-1X/);
  await waitFor('two web dynos and a worker up', async () => {
    const ps = (await slipway(['ps', '-a', 'carol-app'], env)).stdout;
    return /^web\.1: up /m.test(ps) && /^web\.2: up /m.test(ps) && /^worker\.1: up /m.test(ps);
  }, 60_000, 250);
  const dynoIds = new Set((await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.split('\n').filter(Boolean));
  assert.equal(dynoIds.size, 3, [...dynoIds].join(' '));
  await waitFor('worker output in the log', async () => /app\[worker\.1\]: tick/.test((await slipway(['logs', '-a', 'carol-app', '-n', '200'], env)).stdout), 30_000, 500);

  const domain = await slipway(['domains:add', 'www.carol.example', '-a', 'carol-app'], env);
  assert.equal(domain.code, 0, domain.stderr);
  assert.match(domain.stdout, /DNS target carol-app\.localhost/);
  await waitFor('the custom domain routed', async () => (await via('/', 'www.carol.example')).status === 200, 5000, 50);
  assert.match((await slipway(['domains', '-a', 'carol-app'], env)).stdout, /www\.carol\.example +CNAME +carol-app\.localhost/);
  assert.match((await slipway(['domains:add', 'http://x.example', '-a', 'carol-app'], env)).stderr, /scheme/);
  assert.match((await slipway(['maintenance:on', '-a', 'carol-app'], env)).stdout, /Enabling maintenance mode for carol-app\.\.\. done/);
  await waitFor('H80', async () => /Maintenance mode/.test((await via()).body), 5000, 50);
  await slipway(['maintenance:off', '-a', 'carol-app'], env);
  await waitFor('served again', async () => (await via()).status === 200, 5000, 50);

  const oneOff = await slipway(['run', '-a', 'carol-app', 'echo "one-off on $DYNO with $GREETING"; exit 4'], env);
  assert.equal(oneOff.code, 4, oneOff.stderr);
  assert.match(oneOff.stdout, /one-off on run\.1 with hello world/);
  assert.match(oneOff.stderr, /Running .* on carol-app\.\.\. up, run\.1/);
  const stopped = await slipway(['ps:stop', 'worker.1', '-a', 'carol-app'], env);
  assert.match(stopped.stdout, /Stopping worker\.1 dyno on carol-app\.\.\. done/);
  await waitFor('worker.1 replaced', async () => {
    const ids = (await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.split('\n').filter(Boolean);
    const worker = ids.find((id) => id.includes('-worker-1-'));
    if (worker) dynoIds.add(worker);
    return worker !== undefined && ![...dynoIds].slice(0, 3).includes(worker);
  }, 30_000, 250);

  const foreign = await slipway(['apps:info', '-a', 'carol-app'], { ...env, SLIPWAY_API_KEY: token });
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /Couldn't find that app/);

  // A role killed with SIGKILL comes back and health returns to 200.
  const workerPid = h.body.roles.worker.pid!;
  process.kill(workerPid, 'SIGKILL');
  await waitFor('worker restarted', async () => {
    const again = await health(apiPort);
    return again.status === 200 && again.body.roles.worker.pid !== workerPid;
  }, 30_000, 250);
  assert.match(up.output(), /role exited; restarting.*role=worker.*signal=SIGKILL/);

  // Add-ons, to see them come back with the platform: a row and a key written through one-off dynos.
  for (const plan of ['postgresql', 'redis']) {
    const made = await slipway(['addons:create', plan, '-a', 'carol-app'], env);
    assert.equal(made.code, 0, made.stderr);
    // Back once the release with the URL runs, as config:set: the one-off dynos below start with it.
    assert.match(made.stdout, /Restarting carol-app with (DATABASE_URL|REDIS_URL)\.\.\. done, v\d+$/m);
  }
  const wrote = await slipway(['pg:psql', '-c', "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('a row')", '-a', 'carol-app'], env);
  assert.equal(wrote.code, 0, wrote.stderr + wrote.stdout);
  await waitFor('the key written', async () => /OK/.test((await slipway(['redis:cli', '-a', 'carol-app'], env, 'SET kept "a key"\n')).stdout), 30_000, 500);

  await stopAndCheckNothingLeft(up, dataDir);
  await assertNoDynoLeft(dataDir, list[0].id, [...dynoIds]);

  // A second start reuses the admin account and prints no new token; the formation comes back.
  const up2 = startUp(args, env);
  cleanups.push(() => up2.stop('SIGTERM'));
  await up2.waitForOutput(/Press Ctrl-C to stop/);
  assert.match(up2.output(), /Admin API token\s+in /);
  assert.doesNotMatch(up2.output(), /slw_/);
  assert.equal((await slipway(['apps', '--json'], env)).code, 0);
  assert.equal(JSON.parse((await slipway(['apps', '--json'], env)).stdout)[0].name, 'carol-app');
  await waitFor('the formation back after a restart', async () => {
    const ps = (await slipway(['ps', '-a', 'carol-app'], env)).stdout;
    return /^web\.1: up /m.test(ps) && /^web\.2: up /m.test(ps) && /^worker\.1: up /m.test(ps);
  }, 60_000, 250);
  assert.equal((await requestWithHost(routerPort, 'www.carol.example')).status, 200);
  const read = await slipway(['pg:psql', '-c', 'SELECT v FROM kept', '-a', 'carol-app'], env);
  assert.match(read.stdout, /a row/, read.stderr);
  assert.match((await slipway(['redis:cli', '-a', 'carol-app'], env, 'GET kept\n')).stdout, /a key/);
  const again = (await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.split('\n').filter(Boolean);
  assert.equal(again.length, 3);
  await stopAndCheckNothingLeft(up2, dataDir);
  await assertNoDynoLeft(dataDir, list[0].id, again);
});

test('when DATABASE_URL and REDIS_URL are given, then slipway up uses them and starts no database of its own', async () => {
  const db = await createTestDatabase();
  const redis = await createTestRedisPrefix();
  cleanups.push(() => db.drop(), () => redis.drop());
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-up-url-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const [apiPort, routerPort] = [await freePort(), await freePort()];
  const env = cleanEnv({ HOME: dataDir, DATABASE_URL: db.url, REDIS_URL: redis.url, SLIPWAY_REDIS_PREFIX: redis.prefix, SLIPWAY_ROUTER_WORKERS: '1' });
  const up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  cleanups.push(() => up.stop('SIGTERM')); // SIGKILL after 60 s if need be
  await up.waitForOutput(/Press Ctrl-C to stop/);
  assert.match(up.output(), /Database\s+DATABASE_URL/);
  assert.match(up.output(), /Redis\s+REDIS_URL/);
  const kids = descendants(up.child.pid!);
  // The platform's own: no postmaster, no redis-server. (The add-on PostgreSQL, for apps' databases, runs from
  // DATA/addons whatever the platform uses; `postgres: …` are its helper processes.)
  const addonServer = join(dataDir, 'addons');
  const own = kids.filter((k) => /postgres|redis-server/.test(k.cmd) && !k.cmd.includes(addonServer) && !k.cmd.startsWith('postgres: '));
  assert.equal(own.length, 0, JSON.stringify(kids));
  assert.ok(kids.some((k) => k.cmd.includes(addonServer)), 'the add-on PostgreSQL runs');
  assert.equal((await health(apiPort)).status, 200);
  await stopAndCheckNothingLeft(up, dataDir);
});

/** Runs a `slipway up` that should refuse to start: its exit code and output, within a minute. */
async function refusedUp(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const up = startUp(args, env);
  cleanups.push(() => up.stop('SIGTERM'));
  const code = await new Promise<number | null>((resolve) => {
    if (up.child.exitCode !== null) return resolve(up.child.exitCode);
    up.child.once('exit', (c) => resolve(c));
    setTimeout(() => resolve(-1), 60_000);
  });
  return { code, output: up.output() };
}

test('when slipway up already runs on this host, then a second one refuses to start, naming the running one, and the first keeps serving', async () => {
  const db = await createTestDatabase();
  const redis = await createTestRedisPrefix();
  cleanups.push(() => db.drop(), () => redis.drop());
  const [dataDir, otherDir] = [await mkdtemp(join(tmpdir(), 'slipway-up-one-')), await mkdtemp(join(tmpdir(), 'slipway-up-two-'))];
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }), () => rm(otherDir, { recursive: true, force: true }));
  const [apiPort, routerPort, apiPort2, routerPort2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = cleanEnv({ HOME: dataDir, DATABASE_URL: db.url, REDIS_URL: redis.url, SLIPWAY_REDIS_PREFIX: redis.prefix, SLIPWAY_ROUTER_WORKERS: '1' });
  const up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  cleanups.push(() => up.stop('SIGTERM'));
  await up.waitForOutput(/Press Ctrl-C to stop/);
  const agentPid = (await health(apiPort)).body.roles.agent.pid;

  // The same data dir (the default case: `slipway up` typed twice).
  const same = await refusedUp(['--data-dir', dataDir, '--api-port', String(apiPort2), '--router-port', String(routerPort2)], env);
  assert.equal(same.code, 1, same.output);
  assert.match(same.output, new RegExp(`Slipway is already running on this host with the data dir ${dataDir}: \`slipway up\` pid ${up.child.pid}, .*API http://127\\.0\\.0\\.1:${apiPort}`));
  assert.doesNotMatch(same.output, /Slipway is up/);

  // Another data dir, the same database: this host's agent is registered and running.
  const other = await refusedUp(['--data-dir', otherDir, '--api-port', String(apiPort2), '--router-port', String(routerPort2)], env);
  assert.equal(other.code, 1, other.output);
  assert.match(other.output, new RegExp(`Slipway is already running on this host: its agent is pid ${agentPid} \\(data dir ${dataDir}, API http://127\\.0\\.0\\.1:${apiPort}\\)`));
  assert.doesNotMatch(other.output, /Slipway is up/);

  // Another data dir and its own embedded databases, on the same bridge (the default case: nothing set but the dir).
  const apart = cleanEnv({ HOME: otherDir, SLIPWAY_ROUTER_WORKERS: '1', ...networkFor(dataDir) });
  const bridged = await refusedUp(['--data-dir', otherDir, '--api-port', String(apiPort2), '--router-port', String(routerPort2)], apart);
  assert.equal(bridged.code, 1, bridged.output);
  assert.match(bridged.output, new RegExp(`Slipway is already running on this host on the bridge ${networkFor(dataDir).SLIPWAY_BRIDGE}: \`slipway up\` pid ${up.child.pid}, .*data dir ${dataDir}, API http://127\\.0\\.0\\.1:${apiPort}`));
  assert.doesNotMatch(bridged.output, /Slipway is up|embedded PostgreSQL/);
  await assert.rejects(stat(join(otherDir, 'up.pid')), 'the refused up let go of its own data dir');

  const h = await health(apiPort);
  assert.equal(h.status, 200);
  assert.equal(h.body.roles.agent.pid, agentPid, 'the running agent was left alone');
  assert.equal(JSON.parse(await readFile(join(dataDir, 'up.pid'), 'utf8')).pid, up.child.pid);
  await stopAndCheckNothingLeft(up, dataDir);
  await assert.rejects(stat(join(dataDir, 'up.pid')), 'a stopped up lets go of its data dir');

  // Once the first is stopped, the host is free.
  const next = startUp(['--data-dir', otherDir, '--api-port', String(apiPort2), '--router-port', String(routerPort2)], env);
  cleanups.push(() => next.stop('SIGTERM'));
  await next.waitForOutput(/Press Ctrl-C to stop/);
  assert.equal((await health(apiPort2)).status, 200);
  await stopAndCheckNothingLeft(next, otherDir);
});

test('when slipway up itself is killed with SIGKILL, then its roles exit and the next start takes over the orphaned PostgreSQL and Redis', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-up-kill-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const [apiPort, routerPort] = [await freePort(), await freePort()];
  const env = cleanEnv({ HOME: dataDir, SLIPWAY_ROUTER_WORKERS: '1' });
  const args = ['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)];
  const up = startUp(args, env);
  cleanups.push(() => up.stop('SIGTERM')); // SIGKILL after 60 s if need be
  await up.waitForOutput(/Press Ctrl-C to stop/);
  const kids = descendants(up.child.pid!);
  const roles = kids.filter((k) => / serve (api|worker|router|agent) /.test(k.cmd + ' '));
  assert.equal(roles.length, 4, JSON.stringify(kids));
  await up.stop('SIGKILL');
  await waitFor('roles to notice their supervisor is gone', () => roles.every((r) => !alive(r.pid)), 15_000);
  const orphans = processesMentioning(dataDir);
  assert.ok(orphans.some((o) => /postgres/.test(o.cmd)), 'postgres outlives a SIGKILLed up (nothing can stop that)');

  const up2 = startUp(args, env);
  cleanups.push(() => up2.stop('SIGTERM'));
  await up2.waitForOutput(/Press Ctrl-C to stop/);
  assert.match(up2.output(), /stopping a PostgreSQL left running by an earlier start/);
  assert.match(up2.output(), /stopping a Redis left running by an earlier start/);
  for (const o of orphans) assert.equal(alive(o.pid), false, `orphan ${o.cmd} was stopped`);
  assert.equal((await health(apiPort)).status, 200);
  await stopAndCheckNothingLeft(up2, dataDir);
});
