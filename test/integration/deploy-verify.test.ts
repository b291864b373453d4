/**
 * Deploys that say "deployed" only when they are: a release counts once every web dyno of it accepted connections
 * on $PORT and passed its health checks (app.json's, or the config vars'; a worker, once it stayed up a few seconds). A release whose dyno
 * crashes at boot, fails its check, or never comes up is failed with the reason and the dyno's last lines, the push
 * is rejected (the ref stays), and the running release answers every request meanwhile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';

let t: TestPlatform;
before(async () => {
  // A boot timeout well above a Python dyno's start on a busy machine: no test here waits for one to fire.
  t = await startTestPlatform({ SLIPWAY_BOOT_TIMEOUT: '30', SLIPWAY_STOP_GRACE: '2' }, { dynos: true });
});
after(async () => t?.close());

/** A web process whose behaviour its env (config vars) chooses: a delay before it binds, a crash, a failing /health. */
const SERVER = `import http.server, os, sys, time
if os.environ.get('CRASH_AT_BOOT'):
    print('booting, then giving up', flush=True)
    sys.exit(3)
time.sleep(float(os.environ.get('BOOT_DELAY', '0')))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        code = int(os.environ.get('HEALTH_STATUS', '200')) if self.path == '/health' else 200
        body = (os.environ.get('GREETING', 'hello') + ' ' + os.environ.get('RELEASE', '')).encode()
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
print('listening', flush=True)
http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), H).serve_forever()
`;

async function commit(dir: string, files: Record<string, string>, message: string): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await t.git(dir, ['add', '-A']);
  assert.equal((await t.git(dir, ['commit', '-q', '-m', message])).code, 0);
}

/** GETs the app through the router every 50 ms until stopped; every status seen. */
function sampler(app: string) {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      statuses.push(await t.get(app).then((r) => r.status, () => 0));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { statuses, stop: async () => ((running = false), await loop, statuses) };
}

const releases = async (app: string) => (await t.api('GET', `/apps/${app}/releases`)).body as { version: number; status: string; failure: string | null; current: boolean }[];
const remoteRef = async (dir: string) => (await t.git(dir, ['ls-remote', 'slipway', 'refs/heads/main'])).out.trim().split(/\s/)[0];

/** Sets config vars whose release should fail its deploy: that release, and what a client loop saw meanwhile. */
async function failingConfigChange(app: string, vars: Record<string, string>) {
  const sample = sampler(app);
  assert.equal((await t.api('PATCH', `/apps/${app}/config-vars`, vars)).status, 200);
  const failed = await waitFor('the config change to fail its deploy', async () => {
    const last = (await releases(app)).at(-1)!;
    return last.status === 'failed' ? last : undefined;
  }, 60_000, 200);
  return { failed, statuses: await sample.stop() };
}

let dir: string;
test('when a good release is pushed, then "Verifying deploy... done" comes only after its web dyno answered', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'verified' })).status, 201);
  dir = await t.checkout('procfile-shell', 'verified');
  await commit(dir, { 'server.py': SERVER, Procfile: 'web: python3 server.py\n' }, 'server');
  assert.equal((await t.api('PATCH', '/apps/verified/config-vars', { BOOT_DELAY: '2' })).status, 200); // before any code: succeeds at once
  const arrived = new Map<string, number>();
  const push = spawn('git', ['push', 'slipway', 'main'], { cwd: dir, env: { PATH: process.env.PATH, HOME: t.home, GIT_TERMINAL_PROMPT: '0' } });
  let out = '';
  const onData = (d: Buffer) => {
    out += d;
    for (const key of ['Launching...', 'Verifying deploy... done', 'Released v2']) if (out.includes(key) && !arrived.has(key)) arrived.set(key, Date.now());
  };
  push.stdout.on('data', onData);
  push.stderr.on('data', onData);
  const code = await new Promise<number | null>((r) => push.on('close', r));
  assert.equal(code, 0, out);
  assert.match(out, /-----> Verifying deploy\.\.\. done \(web\.1 up in \d+\.\d s\)/);
  assert.ok(out.indexOf('Verifying deploy... done') < out.indexOf('Released v2'), 'verified, then released'); // often in one chunk: by order, not time
  // The dyno sleeps 2 s before it binds $PORT: verification waited for it, and for the agent's word that it was up.
  assert.ok(arrived.get('Verifying deploy... done')! - arrived.get('Launching...')! >= 1800, `waited ${arrived.get('Verifying deploy... done')! - arrived.get('Launching...')!} ms`);
  const log = (await t.platform.redis.xrange(`${t.platform.config.redisPrefix}:applog:${(await t.api('GET', '/apps/verified')).body.id}`, '-', '+')).map(([, f]) => f);
  const upAt = log.find((f) => f[5] === 'web.1' && /State changed from starting to up/.test(f[7]))?.[1];
  assert.ok(upAt && Date.parse(upAt) <= arrived.get('Verifying deploy... done')!, `the dyno was up (${upAt}) before the push said done`);
  assert.equal((await t.get('verified')).status, 200);
});

test('when a pushed release crashes at boot, then the push is rejected with its exit status and last lines, the ref stays, and the old release answers every request', async () => {
  const before = await remoteRef(dir);
  const sample = sampler('verified');
  await commit(dir, { Procfile: 'web: sh -c "echo booting the broken one; exit 3"\n' }, 'broken');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  const statuses = await sample.stop();
  assert.notEqual(push.code, 0, push.out);
  assert.match(push.out, /Verifying deploy\.\.\. failed/);
  assert.match(push.out, /web\.1 of v3 failed to start \(exit status 3\)/);
  assert.match(push.out, /app\[web\.1\]: booting the broken one/);
  assert.match(push.out, /Release v3 failed; the running release keeps serving/);
  assert.doesNotMatch(push.out, /deployed to Slipway/);
  assert.equal(await remoteRef(dir), before, 'the ref was not moved');
  const rels = await releases('verified');
  assert.equal(rels.at(-1)!.status, 'failed');
  assert.match(rels.at(-1)!.failure!, /exit status 3/);
  assert.equal(rels.find((r) => r.current)!.version, 2);
  assert.ok(statuses.length > 10, `${statuses.length} requests during the attempt`);
  assert.deepEqual([...new Set(statuses)], [200], 'the running release answered every request');
  await t.git(dir, ['reset', '-q', '--hard', 'HEAD~1']);
});

test('when a release binds $PORT but fails its app.json health check, then it is rejected the same way and never takes a request', async () => {
  await commit(dir, {
    'app.json': JSON.stringify({ healthchecks: { web: [{ type: 'startup', name: 'ready', path: '/health', attempts: 2, timeout: 2, wait: 1 }] } }),
  }, 'health checked');
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0, 'a healthy /health passes');
  const { failed, statuses } = await failingConfigChange('verified', { HEALTH_STATUS: '503' });
  assert.match(failed.failure!, /web\.1 of v\d+: health check "ready" failed after 2 attempts: GET \/health answered 503/);
  assert.deepEqual([...new Set(statuses)], [200], 'the running release answered every request');
  const current = (await releases('verified')).find((r) => r.current)!;
  assert.ok(current.version < failed.version);
  // The release's output says the same as a push would.
  const out = await (await fetch(`${t.url}/apps/verified/releases/${failed.version}/output`, { headers: { authorization: `Bearer ${t.adminToken}` } })).text();
  assert.match(out, /Verifying deploy\.\.\. failed/);
  assert.match(out, /health check "ready" failed/);
  assert.equal((await t.api('PATCH', '/apps/verified/config-vars', { HEALTH_STATUS: null })).status, 200);
  await waitFor('the fixed release current', async () => (await releases('verified')).at(-1)!.status === 'succeeded', 60_000, 200);
});

test('when an app without app.json sets SLIPWAY_HEALTHCHECK_PATH, then its web dynos must pass that check; bad values are refused', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'checked' })).status, 201);
  const c = await t.checkout('procfile-shell', 'checked');
  await commit(c, { 'server.py': SERVER, Procfile: 'web: python3 server.py\n' }, 'server');
  assert.equal((await t.git(c, ['push', 'slipway', 'main'])).code, 0);
  const bad = await t.api('PATCH', '/apps/checked/config-vars', { SLIPWAY_HEALTHCHECK_PATH: 'health' });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /^SLIPWAY_HEALTHCHECK_PATH must be a path starting with \/, got "health"/);
  const many = await t.api('PATCH', '/apps/checked/config-vars', { SLIPWAY_HEALTHCHECK_ATTEMPTS: 'many' });
  assert.equal(many.status, 422);
  assert.match(many.body.message, /^SLIPWAY_HEALTHCHECK_ATTEMPTS must be a number from 0 to 20/);
  const check = { SLIPWAY_HEALTHCHECK_PATH: '/health', SLIPWAY_HEALTHCHECK_ATTEMPTS: '2', SLIPWAY_HEALTHCHECK_WAIT: '1', SLIPWAY_HEALTHCHECK_TIMEOUT: '2' };
  assert.equal((await t.api('PATCH', '/apps/checked/config-vars', check)).status, 200);
  await waitFor('the checked release current', async () => (await releases('checked')).at(-1)!.status === 'succeeded', 60_000, 200);

  const { failed, statuses } = await failingConfigChange('checked', { HEALTH_STATUS: '503' });
  assert.match(failed.failure!, /web\.1 of v\d+: health check "SLIPWAY_HEALTHCHECK_PATH" failed after 2 attempts: GET \/health answered 503/);
  assert.deepEqual([...new Set(statuses)], [200], 'the running release answered every request');
});

test('when a worker-only release crashes at once, then it is rejected; with SLIPWAY_DEPLOY_VERIFY=off, a release counts at once', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'workers' })).status, 201);
  const w = await t.checkout('procfile-shell', 'workers');
  await commit(w, { Procfile: 'worker: sh -c "echo working; sleep 600"\n' }, 'worker');
  assert.equal((await t.git(w, ['push', 'slipway', 'main'])).code, 0);
  assert.equal((await t.api('PATCH', '/apps/workers/formation/worker', { quantity: 1 })).status, 200);
  await waitFor('worker.1 up', async () => ((await t.api('GET', '/apps/workers/dynos')).body as { name: string; state: string }[]).some((d) => d.name === 'worker.1' && d.state === 'up'), 30_000, 200);
  await commit(w, { Procfile: 'worker: sh -c "echo giving up; exit 1"\n' }, 'broken worker');
  const push = await t.git(w, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0, push.out);
  assert.match(push.out, /worker\.1 of v\d+ failed to start \(exit status 1\)/);
  assert.match(push.out, /giving up/);

  assert.equal((await t.api('PATCH', '/apps/workers/config-vars', { SLIPWAY_DEPLOY_VERIFY: 'off' })).status, 200);
  await waitFor('the config release current', async () => (await releases('workers')).at(-1)!.status === 'succeeded', 30_000, 100);
  const unverified = await t.git(w, ['push', 'slipway', 'main']);
  assert.equal(unverified.code, 0, unverified.out);
  assert.doesNotMatch(unverified.out, /Verifying deploy/);
});
