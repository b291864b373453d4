/**
 * Shared capacity, bounded per tenant, on a platform configured small: apps per user, the sizes a user may ask for,
 * one-off dynos (how many, how long), source uploads (how many, how large), builds per hour, build output kept,
 * and one Redis connection for all the log followers of a process. Each refusal names its setting.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { streamFollowers } from '../../server/logs/stream-follow.js';

let t: TestPlatform;
let user: { token: string };
before(async () => {
  t = await startTestPlatform({
    SLIPWAY_MAX_APPS_PER_USER: '2', SLIPWAY_MAX_ONE_OFFS: '2', SLIPWAY_ONE_OFF_HOURS: '0.001', SLIPWAY_USER_MAX_SIZE: 'standard-2x',
    SLIPWAY_MAX_SOURCES: '2', SLIPWAY_MAX_PUSH_MB: '1', SLIPWAY_BUILDS_PER_HOUR: '2', SLIPWAY_BUILD_LOG_LINES: '50',
  }, { dynos: true });
  const u = await t.platform.services.users.create({ email: 'tenant@example.com', password: 'tenant-password' });
  user = { token: (await t.platform.services.users.createToken(u)).token };
});
after(async () => t?.close());

async function pushed(app: string, token = t.adminToken): Promise<string> {
  assert.equal((await t.api('POST', '/apps', { name: app }, token)).status, 201);
  if (token !== t.adminToken) assert.equal((await t.api('POST', `/apps/${app}/collaborators`, { user: 'admin@example.com' }, token)).status, 201);
  const dir = await t.checkout('procfile-shell', app);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  return dir;
}

test('when a user owns its share of apps or asks for a size above the users\' limit, then it is refused naming the setting; an administrator is not held', async () => {
  for (const name of ['mine-1', 'mine-2']) assert.equal((await t.api('POST', '/apps', { name }, user.token)).status, 201);
  const third = await t.api('POST', '/apps', { name: 'mine-3' }, user.token);
  assert.equal(third.status, 422);
  assert.equal(third.body.id, 'quota_exceeded');
  assert.match(third.body.message, /You own 2 apps.*SLIPWAY_MAX_APPS_PER_USER/);
  assert.equal((await t.api('POST', '/apps', { name: 'admins-3' })).status, 201, 'the admin has no app limit');

  await pushed('sized');
  await t.api('POST', '/apps/sized/collaborators', { user: 'tenant@example.com' });
  const big = await t.api('PATCH', '/apps/sized/formation/web', { size: 'performance-l' }, user.token);
  assert.equal(big.status, 422);
  assert.match(big.body.message, /performance-l is larger than users may ask for.*SLIPWAY_USER_MAX_SIZE/);
  const bigRun = await t.api('POST', '/apps/sized/dynos', { command: 'true', size: 'performance-m' }, user.token);
  assert.equal(bigRun.status, 422);
  assert.equal((await t.api('PATCH', '/apps/sized/formation/web', { size: 'standard-2x' }, user.token)).status, 200);
  assert.equal((await t.api('PATCH', '/apps/sized/formation/web', { size: 'performance-m', quantity: 0 })).status, 200, 'the admin may');
});

test('when an app runs its share of one-off dynos, then another is refused until one ends; a one-off is stopped at its age limit', async () => {
  await pushed('runner');
  for (let i = 0; i < 2; i++) assert.equal((await t.api('POST', '/apps/runner/dynos', { command: 'sleep 600', attach: true })).status, 201);
  const third = await t.api('POST', '/apps/runner/dynos', { command: 'sleep 600', attach: true });
  assert.equal(third.status, 422);
  assert.match(third.body.message, /already runs 2 one-off dynos.*SLIPWAY_MAX_ONE_OFFS/);

  // SLIPWAY_ONE_OFF_HOURS=0.001: 3.6 s.
  await pushed('aging');
  const started = Date.now();
  const run = await t.api('POST', '/apps/aging/dynos', { command: 'sleep 600' });
  assert.equal(run.status, 201);
  await waitFor('the one-off stopped at its age limit', async () => {
    const dynos = (await t.api('GET', '/apps/aging/dynos')).body as { name: string }[];
    return !dynos.some((d) => d.name === run.body.name);
  }, 30_000, 200);
  const took = Date.now() - started;
  assert.ok(took >= 3000 && took < 25_000, `stopped after ${took} ms`);
  const log = await t.platform.redis.xrange(`${t.platform.config.redisPrefix}:applog:${run.body.app.id}`, '-', '+');
  assert.ok(log.some(([, f]) => /one-off dynos run at most 0 minutes on this platform \(SLIPWAY_ONE_OFF_HOURS\)/.test(f.join(' '))), 'the log says why');
});

/** PUT a body to a source URL with the admin token. */
function put(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^http:\/\/[^/]+/, t.url), { method: 'PUT', headers: { authorization: `Bearer ${t.adminToken}`, 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('when sources are uploaded, then only to a slot made first, at most two waiting per app, none over the push limit', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'uploads' })).status, 201);
  const slots = [await t.api('POST', '/apps/uploads/sources'), await t.api('POST', '/apps/uploads/sources')];
  for (const s of slots) assert.equal(s.status, 201);
  const third = await t.api('POST', '/apps/uploads/sources');
  assert.equal(third.status, 422);
  assert.match(third.body.message, /2 source uploads waiting.*SLIPWAY_MAX_SOURCES/);
  const unknown = await put(`${t.url}/apps/uploads/sources/00000000-0000-4000-8000-000000000000`, Buffer.from('x'));
  assert.equal(unknown.status, 404, 'no upload without a slot');
  const tooBig = await put(slots[0].body.source_blob.put_url, Buffer.alloc(1024 * 1024 + 1));
  assert.equal(tooBig.status, 413);
  assert.equal((await put(slots[1].body.source_blob.put_url, Buffer.alloc(1000))).status, 200);
});

test('when an app builds more than its share in an hour, then the push and the API are refused with when to try again', async () => {
  const dir = await pushed('busy'); // build 1
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'two']);
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0); // build 2
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'three']);
  const third = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(third.code, 0);
  assert.match(third.out, /busy started 2 builds in the last hour.*SLIPWAY_BUILDS_PER_HOUR.*try again in \d+ min/);
  const slot = (await t.api('POST', '/apps/busy/sources')).body.source_blob;
  const api = await t.api('POST', '/apps/busy/builds', { source_blob: { url: slot.get_url } });
  assert.equal(api.status, 422, 'the slot was never filled');
  const builds = (await t.api('GET', '/apps/busy/builds')).body as unknown[];
  assert.equal(builds.length, 2, 'nothing built for the refused push');
});

test('when a build writes more output than a build keeps, then the rest is counted, not stored, and the push still ends with its result', async () => {
  const bp = join(t.buildpackDir, 'chatty');
  await mkdir(join(bp, 'bin'), { recursive: true });
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho Chatty\n');
  await writeFile(join(bp, 'bin', 'compile'), '#!/bin/sh\ni=0; while [ $i -lt 500 ]; do echo "chatter line $i"; i=$((i+1)); done\necho "web: python3 -m http.server \\$PORT" > "$1/Procfile"\n');
  for (const f of ['detect', 'compile']) await chmod(join(bp, 'bin', f), 0o755);
  assert.equal((await t.api('POST', '/apps', { name: 'chatty' })).status, 201);
  const dir = await t.checkout('no-buildpack', 'chatty');
  await writeFile(join(dir, '.buildpacks'), `${bp}\n`);
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'chatty']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const chatter = push.out.match(/chatter line \d+/g) ?? [];
  assert.ok(chatter.length > 0 && chatter.length < 50, `${chatter.length} chatter lines kept`);
  assert.match(push.out, /\d+ more lines of build output were not kept: a build keeps 50 lines.*SLIPWAY_BUILD_LOG_LINES/);
  const build = (await t.api('GET', '/apps/chatty/builds')).body[0];
  const len = await t.platform.redis.xlen(`${t.platform.config.redisPrefix}:buildlog:${build.id}`);
  assert.ok(len <= 52, `${len} entries in Redis`);
});

test('when many clients follow logs and build output at once, then the process holds one Redis connection for all of them, and a log-session URL works once', async () => {
  await pushed('followed');
  const sessions = await Promise.all(Array.from({ length: 20 }, () => t.api('POST', '/apps/followed/log-sessions', { tail: true, lines: 1 })));
  const ac = new AbortController();
  const local = (u: string) => u.replace(/^http:\/\/[^/]+/, t.url);
  const reads = sessions.map((s) => fetch(local(s.body.logplex_url), { signal: ac.signal }).then((r) => r.body?.getReader().read()).catch(() => undefined));
  const build = (await t.api('GET', '/apps/followed/builds')).body[0];
  const outputs = Array.from({ length: 5 }, () => fetch(`${t.url}/apps/followed/builds/${build.id}/output`, { headers: { authorization: `Bearer ${t.adminToken}` } }).then((r) => r.text()));
  const clients = async () => ((await t.platform.redis.client('LIST')) as string).split('\n').filter((l) => / name=slipway-followers-(\d+) /.exec(l)?.[1] === String(process.pid)).length;
  const hub = streamFollowers(t.platform.redis);
  await waitFor('20 log tails following', () => hub.size >= 20, 5000, 20);
  assert.equal(await clients(), 1, 'one reader connection for all of them');
  for (const o of await Promise.all(outputs)) assert.match(o, /Released v1/);
  const again = await fetch(local(sessions[0].body.logplex_url));
  assert.equal(again.status, 404, 'a log-session URL is read once');
  assert.match(await again.text(), /read once/);
  ac.abort();
  await Promise.all(reads);
});
