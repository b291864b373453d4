/**
 * Push → build → release → dynos in runc → the router, all real (PostgreSQL, Redis, git, runc, the bridge), in
 * this process: the api, worker, agent and router roles. Requests go to the router on loopback only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
before(async () => {
  p = await startTestPlatform({ SLIPWAY_STOP_GRACE: '3', SLIPWAY_BOOT_TIMEOUT: '20', SLIPWAY_CRASH_BACKOFF: '1', SLIPWAY_MAX_DYNOS: '5' }, { dynos: true });
});
after(async () => p?.close());

async function until<T>(fn: () => Promise<T | undefined | false>, ms: number, what: string, app = APP): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  const dynos = await p.api('GET', `/apps/${app}/dynos`).catch(() => ({ body: '' }));
  const logs = await p.api('POST', `/apps/${app}/log-sessions`, { lines: 60 }).then((s) => fetch(local(s.body.logplex_url))).then((r) => r.text()).catch(() => '');
  throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}\ndynos: ${JSON.stringify(dynos.body)}\nlog:\n${logs}`);
}

const WEB = (version: string) => `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/crash": os._exit(3)
        if self.path == "/headers":
            body = "\\n".join(k.lower() + ": " + v for k, v in self.headers.items()).encode()
        else:
            body = ("${version} " + os.environ["DYNO"] + " " + os.environ.get("GREETING", "-") + "\\n").encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
        print("served", self.path, flush=True)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`;

async function deploy(dir: string, version: string): Promise<void> {
  await writeFile(join(dir, 'web.py'), WEB(version));
  await writeFile(join(dir, 'Procfile'), 'web: python3 web.py\nworker: while true; do echo tick; sleep 1; done\n');
  for (const args of [['add', '-A'], ['commit', '-q', '-m', version]]) assert.equal((await p.git(dir, args)).code, 0);
  const push = await p.git(dir, ['push', '-q', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
}

/** The test API listens on a random port; the platform's public URL names port 0. */
const local = (url: string) => p.url + new URL(url).pathname;
let dir: string;
const APP = 'deploy-me';

test('when an app is pushed, then web=1 runs in a container and answers through the router at APP.localhost', async () => {
  assert.equal((await p.api('POST', '/apps', { name: APP })).status, 201);
  // The router learns of the new app from a pub/sub message: a moment later, not at once.
  const before = await until(async () => {
    const r = await p.get(APP);
    return r.status !== 404 ? r : undefined;
  }, 5000, 'the router to know the app');
  assert.equal(before.status, 503, 'no web dynos before the first deploy (H14)');
  assert.match(before.body, /H14/);
  dir = await p.checkout('procfile-shell', APP);
  await deploy(dir, 'v1');
  const res = await until(async () => {
    const r = await p.get(APP);
    return r.status === 200 ? r : undefined;
  }, 30_000, 'the app to answer');
  assert.equal(res.body, 'v1 web.1 -\n');
  const formation = await p.api('GET', `/apps/${APP}/formation`);
  assert.deepEqual(formation.body.map((f: { type: string; quantity: number; size: string }) => `${f.type}=${f.quantity}:${f.size}`).sort(), ['web=1:standard-1x', 'worker=0:standard-1x']);
  const dynos = await p.api('GET', `/apps/${APP}/dynos`);
  assert.equal(dynos.body.length, 1);
  assert.equal(dynos.body[0].name, 'web.1');
  assert.equal(dynos.body[0].state, 'up');
  assert.equal(dynos.body[0].release.version, 1);
});

test('when a request goes through the router, then the dyno sees X-Forwarded-*, X-Request-Id, X-Request-Start and Via', async () => {
  const t0 = Date.now();
  const r = await p.get(APP, '/headers', { 'x-request-id': 'abcdefabcdefabcdefabcdef-1234' });
  const t1 = Date.now();
  assert.equal(r.status, 200);
  assert.match(r.body, /^x-forwarded-for: 127\.0\.0\.1$/m);
  assert.match(r.body, /^x-forwarded-proto: http$/m);
  assert.match(r.body, new RegExp(`^x-forwarded-port: ${p.routerPort}$`, 'm'));
  assert.match(r.body, /^x-request-id: abcdefabcdefabcdefabcdef-1234$/m);
  assert.match(r.body, /^via: 1\.1 slipway$/m);
  const start = Number(/^x-request-start: (\d+)$/m.exec(r.body)?.[1]);
  assert.ok(start >= t0 && start <= t1, `x-request-start ${start} within the request`);
  const unknown = await p.get('no-such-app-here');
  assert.equal(unknown.status, 404);
});

test('when the app is scaled, then the dynos start and the router spreads requests over all of them', async () => {
  const scale = await p.api('PATCH', `/apps/${APP}/formation`, { updates: [{ type: 'web', quantity: 3 }, { type: 'worker', quantity: 1 }] });
  assert.equal(scale.status, 200, JSON.stringify(scale.body));
  await until(async () => {
    const d = await p.api('GET', `/apps/${APP}/dynos`);
    return d.body.filter((x: { state: string }) => x.state === 'up').length === 4;
  }, 30_000, 'three web dynos and a worker up');
  const seen = new Set<string>();
  await until(async () => {
    const r = await p.get(APP);
    if (r.status === 200) seen.add(r.body.split(' ')[1]);
    return seen.size === 3;
  }, 10_000, 'all three web dynos to answer');
  const tooMany = await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 6 });
  assert.equal(tooMany.status, 422);
  assert.match(tooMany.body.message, /at most 5 dynos/);
  assert.equal((await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 2 })).status, 200);
  const bad = await p.api('PATCH', `/apps/${APP}/formation/clock`, { quantity: 1 });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /clock/);
  const badSize = await p.api('PATCH', `/apps/${APP}/formation/web`, { size: 'enormous-9x' });
  assert.equal(badSize.status, 422);
});

test('when config changes, code is pushed, the app is rolled back or scaled down, then no request fails', async () => {
  let stop = false;
  const failures: string[] = [];
  const bodies = new Set<string>();
  let served = 0;
  // Several clients on keep-alive connections, as browsers and load balancers hold them.
  const { Agent, request } = await import('node:http');
  const client = (agent: InstanceType<typeof Agent>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: p.routerPort, path: '/', headers: { host: `${APP}.localhost` }, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const agents = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const load = Promise.all(agents.map(async (agent) => {
    while (!stop) {
      const r = await client(agent).catch((e: Error) => ({ status: 0, body: e.message }));
      served++;
      if (r.status !== 200) failures.push(`${r.status} ${/<code>(\w+)<\/code>/.exec(r.body)?.[1] ?? r.body.slice(0, 80)}`);
      else bodies.add(r.body.split(' ')[0] + ' ' + r.body.split(' ')[2].trim());
    }
  }));
  try {
    const set = await p.api('PATCH', `/apps/${APP}/config-vars`, { GREETING: 'hola' });
    assert.equal(set.status, 200);
    await until(async () => (await p.get(APP)).body.includes('hola'), 30_000, 'the new config to serve');
    await deploy(dir, 'v2');
    await until(async () => (await p.get(APP)).body.startsWith('v2'), 30_000, 'v2 to serve');
    const back = await p.api('POST', `/apps/${APP}/releases`, { release: '2' });
    assert.equal(back.status, 201, JSON.stringify(back.body));
    await until(async () => (await p.get(APP)).body.startsWith('v1 '), 30_000, 'the rollback to serve');
    await sleep(2000);
    assert.equal((await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 1 })).status, 200);
    await until(async () => (await p.api('GET', `/apps/${APP}/dynos`)).body.filter((d: { type: string }) => d.type === 'web').length === 1, 30_000, 'one web dyno');
    await sleep(2000); // the old dynos drain and stop meanwhile
  } finally {
    stop = true;
    await load;
    for (const a of agents) a.destroy();
  }
  assert.deepEqual(failures, [], `every one of ${served} requests got a 200`);
  assert.ok(served > 100, `steady traffic: ${served} requests`);
  assert.ok(bodies.has('v1 hola') && bodies.has('v2 hola'), [...bodies].join(', '));
  const dynos = await p.api('GET', `/apps/${APP}/dynos`);
  assert.deepEqual(dynos.body.map((d: { name: string; release: { version: number } }) => `${d.name}@v${d.release.version}`).sort(), ['web.1@v4', 'worker.1@v4']);
});

test('when the app logs, then dyno output, platform events and router lines are in its log session', async () => {
  assert.equal((await p.api('DELETE', `/apps/${APP}/dynos/web.1`)).status, 202);
  await until(async () => {
    const s = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 20, dyno: 'web.1', source: 'slipway' });
    return /State changed from up to down/.test(await (await fetch(local(s.body.logplex_url))).text());
  }, 20_000, 'web.1 to be restarted');
  await p.get(APP, '/logged');
  let session = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 1500 });
  assert.equal(session.status, 201);
  const text = await until(async () => {
    session = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 1500 }); // a session URL is read once
    const t = await (await fetch(local(session.body.logplex_url))).text();
    return /app\[web\.\d\]: served \/logged/.test(t) && /slipway\[router\]: at=info method=GET path="\/logged"/.test(t) ? t : undefined;
  }, 10_000, 'the log lines');
  assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 slipway\[web\.1\]: Starting process with command `python3 web\.py`$/m);
  assert.match(text, /slipway\[web\.1\]: State changed from starting to up/);
  assert.match(text, /app\[worker\.1\]: tick/);
  assert.match(text, /slipway\[router\]: at=info method=GET path="\/logged" host=deploy-me\.localhost request_id=[0-9a-f-]{36} fwd="127\.0\.0\.1" dyno=web\.\d connect=\d+ms service=\d+ms status=200/);
  const only = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 50, dyno: 'worker' });
  const workerText = await (await fetch(local(only.body.logplex_url))).text();
  assert.ok(workerText.trim().split('\n').every((l) => /\[worker\.1\]/.test(l)), workerText);
  const routerOnly = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 50, source: 'router' });
  const routerText = await (await fetch(local(routerOnly.body.logplex_url))).text();
  assert.ok(routerText.trim() && routerText.trim().split('\n').every((l) => / slipway\[router\]: at=/.test(l)), routerText);
  const noAuth = await fetch(local(session.body.logplex_url).replace(/[^/]+$/, 'x'.repeat(32)));
  assert.equal(noAuth.status, 404);

  // Tail: the session stays open and new lines arrive as they are written.
  const tail = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 0, tail: true, source: 'slipway' });
  const abort = new AbortController();
  const res = await fetch(local(tail.body.logplex_url), { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  let streamed = '';
  const reader = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      streamed += decoder.decode(chunk, { stream: true });
      if (/path="\/tailed"/.test(streamed)) return;
    }
  })().catch(() => undefined);
  await sleep(300);
  await p.get(APP, '/tailed');
  await until(async () => /data: .*slipway\[router\]: at=info method=GET path="\/tailed"/.test(streamed), 10_000, 'the tailed line');
  abort.abort();
  await reader;
  assert.match(streamed, /^retry: 0/m);
});

test('when a web dyno crashes, then it is restarted and the log says why', async () => {
  await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 1 });
  await until(async () => (await p.api('GET', `/apps/${APP}/dynos`)).body.filter((d: { type: string }) => d.type === 'web').length === 1, 20_000, 'web=1');
  await p.get(APP, '/crash').catch(() => undefined);
  await until(async () => {
    const d = await p.api('GET', `/apps/${APP}/dynos/web.1`);
    return d.body.state === 'up' && d.body.restarts >= 1;
  }, 30_000, 'web.1 to come back');
  const session = await p.api('POST', `/apps/${APP}/log-sessions`, { lines: 300, dyno: 'web.1', source: 'slipway' });
  const text = await (await fetch(local(session.body.logplex_url))).text();
  assert.match(text, /Process exited with status 3[\s\S]*State changed from up to crashed[\s\S]*Starting process/);
});

test('when web is scaled to 0 or the app is in maintenance, then the router answers H14 and H80', async () => {
  await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 0 });
  await until(async () => (await p.get(APP)).status === 503, 20_000, 'H14');
  assert.match((await p.get(APP)).body, /H14/);
  await p.api('PATCH', `/apps/${APP}/formation/web`, { quantity: 1 });
  await until(async () => (await p.get(APP)).status === 200, 30_000, 'web back');
  assert.equal((await p.api('PATCH', `/apps/${APP}`, { maintenance: true })).status, 200);
  await until(async () => /H80/.test((await p.get(APP)).body), 10_000, 'H80');
  await p.api('PATCH', `/apps/${APP}`, { maintenance: false });
  await until(async () => (await p.get(APP)).status === 200, 10_000, 'out of maintenance');
});

test('when the app is destroyed, then its dynos stop and nothing of them is left', async () => {
  assert.equal((await p.api('DELETE', `/apps/${APP}`)).status, 200);
  await until(async () => (await p.platform.db.query('SELECT count(*)::int AS n FROM dynos')).rows[0].n === 0, 20_000, 'no dyno rows');
  await until(async () => (await p.platform.db.query('SELECT count(*)::int AS n FROM addresses')).rows[0].n === 0, 20_000, 'no addresses');
  const { readdir } = await import('node:fs/promises');
  await until(async () => (await readdir(join(p.dataDir, 'run', 'dynos')).catch(() => [])).length === 0, 20_000, 'no dyno dirs');
  assert.equal((await p.get(APP)).status, 404);
});

test('when a one-off dyno runs detached, then its output goes to the log', async () => {
  const app = 'oneoff-app';
  assert.equal((await p.api('POST', '/apps', { name: app })).status, 201);
  const noCode = await p.api('POST', `/apps/${app}/dynos`, { command: 'true' });
  assert.equal(noCode.status, 422, 'no release yet');
  const d = await p.checkout('procfile-shell', app);
  const push = await p.git(d, ['push', '-q', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const bad = await p.api('POST', `/apps/${app}/dynos`, { command: '' });
  assert.equal(bad.status, 422);
  const dyno = await p.api('POST', `/apps/${app}/dynos`, { command: 'echo detached-output-$DYNO', attach: false });
  assert.equal(dyno.status, 201);
  assert.equal(dyno.body.attach_url, null);
  await until(async () => {
    const s = await p.api('POST', `/apps/${app}/log-sessions`, { lines: 50, dyno: dyno.body.name });
    const t = await (await fetch(local(s.body.logplex_url))).text();
    return new RegExp(`app\\[${dyno.body.name.replace('.', '\\.')}\\]: detached-output-${dyno.body.name.replace('.', '\\.')}`).test(t) && /Process exited with status 0/.test(t);
  }, 15_000, 'the detached output', app);
});

test('when a one-off dyno runs attached, then stdin reaches it, its output comes back, and the exit status is its own', async () => {
  const app = 'oneoff-app';
  const { attach } = await import('../../cli/commands/dynos.js');
  const { PassThrough } = await import('node:stream');
  const dyno = await p.api('POST', `/apps/${app}/dynos`, { command: 'read line; echo "got:$line on $DYNO"; echo to-stderr >&2; test -t 0 || echo no-tty; exit 7', attach: true, force_no_tty: true });
  assert.equal(dyno.status, 201, JSON.stringify(dyno.body));
  assert.match(dyno.body.attach_url, /^rendezvous:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+$/);
  const stdin = new PassThrough();
  let out = '';
  const status = attach(dyno.body.attach_url, { stdin, write: (s) => (out += s.toString()) });
  stdin.end('hello from stdin\n');
  assert.equal(await status.catch((e: Error) => { throw new Error(`${e.message} after: ${JSON.stringify(out)}`); }), 7);
  assert.match(out, new RegExp(`got:hello from stdin on ${dyno.body.name.replace('.', '\\.')}`));
  assert.match(out, /to-stderr/);
  assert.match(out, /no-tty/);
  // The secret opens the dyno once: a second connection gets an error and status 255.
  let again = '';
  assert.equal(await attach(dyno.body.attach_url, { stdin: new PassThrough(), write: (s) => (again += s.toString()) }), 255);
  assert.match(again, /this attach URL is unknown, used or expired/);
});

test('when an attached one-off has a terminal, then its command runs on a pseudo-terminal of the given size', async () => {
  const { attach } = await import('../../cli/commands/dynos.js');
  const { PassThrough } = await import('node:stream');
  const dyno = await p.api('POST', '/apps/oneoff-app/dynos', {
    command: 'test -t 0 && test -t 1 && echo "tty:$(tty)"; stty size; read line; echo "read:$line"; exit 3', attach: true, env: { COLUMNS: '123', LINES: '45' },
  });
  assert.equal(dyno.status, 201, JSON.stringify(dyno.body));
  const stdin = new PassThrough();
  let out = '';
  const status = attach(dyno.body.attach_url, { stdin, write: (s) => (out += s.toString()) });
  setTimeout(() => stdin.write('typed\r'), 500);
  assert.equal(await status.catch((e: Error) => { throw new Error(`${e.message} after: ${JSON.stringify(out)}`); }), 3, out);
  assert.match(out, /tty:\/dev\/pts\/\d+/);
  assert.match(out, /45 123/);
  assert.match(out, /read:typed/);
  assert.match(out, /\r\n/, 'a terminal turns \\n into \\r\\n');
});
