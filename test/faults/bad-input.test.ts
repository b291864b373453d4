/**
 * Faults: hostile or malformed input at every edge (API bodies and paths, git URLs and refs). Expected outcome, for
 * each: a 4xx with a message naming the problem (never a 500, never a hang), and nothing created: the data dir's
 * tree, the apps, releases, domains and refs are exactly as before.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { requestWithHost } from '../helpers/http.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let t: TestPlatform;
let port: number;
let work: string;
before(async () => {
  t = await startTestPlatform();
  port = Number(new URL(t.url).port);
  for (const name of ['target', 'other']) assert.equal((await t.api('POST', '/apps', { name })).status, 201);
  work = await t.checkout('procfile-shell', 'target');
  const pushed = await t.git(work, ['push', 'slipway', 'main']);
  assert.equal(pushed.code, 0, pushed.out);
});
after(async () => t?.close());

/** Every path under the data dir (the log of the roles aside): what "nothing created on disk" is checked against. */
async function tree(dir = t.dataDir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(t.dataDir, p));
    if (e.isDirectory()) out.push(...(await tree(p)));
  }
  return out.sort();
}

/** What the platform holds about the apps: compared before and after, it must not move. */
async function state() {
  const q = (sql: string) => t.platform.db.query(sql).then((r) => r.rows);
  return {
    apps: await q('SELECT name, maintenance FROM apps ORDER BY name'),
    releases: await q('SELECT app_id, version FROM releases ORDER BY app_id, version'),
    domains: await q('SELECT hostname FROM domains ORDER BY hostname'),
    builds: await q('SELECT count(*)::int AS n FROM builds'),
    config: (await t.api('GET', '/apps/target/config-vars')).body,
    refs: (await t.git(t.dataDir, ['--git-dir', join(t.dataDir, 'repos', 'target.git'), 'for-each-ref'])).out,
  };
}

/** Runs fn, then asserts that neither the data dir nor the platform's state changed. */
async function unchanged(what: string, fn: () => Promise<void>) {
  const [treeBefore, stateBefore] = [await tree(), await state()];
  await fn();
  assert.deepEqual(await state(), stateBefore, `${what}: the platform's state is unchanged`);
  assert.deepEqual(await tree(), treeBefore, `${what}: nothing was created or removed on disk`);
}

type Reply = { status: number; body: { id?: string; message?: string } };
async function call(method: string, path: string, body?: unknown, rawBody?: string): Promise<Reply> {
  const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const r = await requestWithHost(port, `127.0.0.1:${port}`, path, {
    authorization: `Bearer ${t.adminToken}`,
    ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
  }, method, payload);
  let parsed: Reply['body'] = {};
  try {
    parsed = JSON.parse(r.body);
  } catch {
    parsed = { message: r.body };
  }
  return { status: r.status, body: parsed };
}

/** A 4xx (of the given statuses) with a JSON message that says something, never a 500. */
function refused(r: Reply, statuses: number[], what: string, mentions?: RegExp) {
  assert.ok(statuses.includes(r.status), `${what}: ${r.status} ${JSON.stringify(r.body)} (wanted ${statuses.join('/')})`);
  assert.ok(typeof r.body.message === 'string' && r.body.message.length >= 10, `${what}: a message (${JSON.stringify(r.body)})`);
  if (mentions) assert.match(r.body.message!, mentions, what);
}

test('when app names carry shell metacharacters, dots, slashes, unicode, option-like dashes or are too long, then 422 naming the rule, and nothing is made', async () => {
  const names = ['x;id', '$(id)', '`id`', 'a|b', 'a&&b', 'a b', '..', '../etc', 'a/b', 'a\\b', 'ápp', 'app\u202e', 'app\u0000', 'app\n',
    '--upload-pack=touch', '-rf', 'a'.repeat(31), '', 'App', '.git', 'target.git'];
  await unchanged('app names', async () => {
    for (const name of names) refused(await call('POST', '/apps', { name }), [422], JSON.stringify(name), /name/i);
    refused(await call('POST', '/apps', { name: 42 }), [422], 'a number for a name', /name/i);
    for (const name of ['../other', 'x;id', 'other']) refused(await call('PATCH', '/apps/target', { name }), [409, 422], `rename to ${name}`, /name|taken/i);
  });
});

test('when an app path segment is an escape, encoded dots, a NUL or option-like, then 404 or 422 and no app is touched', async () => {
  const paths = ['/apps/%2e%2e', '/apps/..%2f..%2fetc', '/apps/target%00', '/apps/target%2f..%2fother', '/apps/--upload-pack=x', '/apps/%24(id)', '/apps/TARGET%0a'];
  await unchanged('app paths', async () => {
    for (const p of paths) {
      refused(await call('GET', p), [400, 404, 422], `GET ${p}`);
      refused(await call('DELETE', p), [400, 404, 422], `DELETE ${p}`);
      refused(await call('PATCH', `${p}/config-vars`, { A: '1' }), [400, 404, 422], `PATCH ${p}/config-vars`);
    }
    for (const p of ['/apps/target/builds/', '/apps/target/releases/', '/apps/target/dynos/web.1', '/apps/target/domains/target.localhost',
      '/apps/target/slugs/', '/apps/target/collaborators/a', '/apps/target/formation/web', '/log-sessions/', '/oauth/authorizations/']) {
      for (const bad of ['%00', '%2e%2e', '%ff%fe', 'x%27%3b--']) refused(await call('GET', p + bad), [400, 404, 422], `GET ${p}${bad}`);
      refused(await call('DELETE', `${p}%00`), [400, 404, 405, 422], `DELETE ${p}%00`);
    }
  });
});

test('when git URLs use //, %2e%2e, a NUL, option-like names or odd services, then 4xx and no repo is created anywhere', async () => {
  const basic = 'Basic ' + Buffer.from(`git:${t.adminToken}`).toString('base64');
  const probes = [
    '//target.git/info/refs?service=git-receive-pack', '///tmp/slipway-evil.git/info/refs?service=git-receive-pack',
    '/%2e%2e/target.git/info/refs?service=git-upload-pack', '/%2e%2e%2f%2e%2e%2ftmp%2fslipway-evil.git/info/refs?service=git-upload-pack',
    '/target.git%00/info/refs?service=git-upload-pack', '/target%00.git/info/refs?service=git-upload-pack',
    '/--upload-pack=touch%20%2ftmp%2fslipway-evil.git/info/refs?service=git-upload-pack',
    '/target.git/info/refs?service=--upload-pack=touch', '/target.git/info/refs?service=git-upload-pack%00',
    '/target.git/../other.git/info/refs?service=git-upload-pack', '/target.git/objects/../../other.git/HEAD',
  ];
  await unchanged('git URLs', async () => {
    for (const path of probes) {
      const r = await requestWithHost(port, `127.0.0.1:${port}`, path, { authorization: basic });
      assert.ok(r.status >= 400 && r.status < 500, `${path} → ${r.status}`);
      assert.ok(r.body.trim().length > 0, `${path}: a message`);
    }
  });
  assert.equal((await readdir('/tmp')).filter((n) => n.startsWith('slipway-evil')).length, 0);
});

test('when a push names an option-like ref, a tag or another branch, then it is refused with a message and no ref is made', async () => {
  await unchanged('refs', async () => {
    for (const ref of ['refs/heads/--upload-pack=touch', 'refs/heads/-rf', 'refs/tags/v1', 'refs/heads/feature']) {
      const r = await t.git(work, ['push', 'slipway', `HEAD:${ref}`]);
      assert.notEqual(r.code, 0, `${ref}: ${r.out}`);
      assert.match(r.out, /is not supported: Slipway deploys main or master|refusing|invalid|not a valid/i, `${ref}: ${r.out}`);
    }
  });
});

test('when config keys have =, newlines, spaces, NUL or nothing, or values are not strings, then 422 naming the key, and no release', async () => {
  await unchanged('config keys', async () => {
    for (const key of ['A=B', 'A\nB', 'A B', 'A\u0000', '', '1ABC', 'A-B', 'É']) {
      refused(await call('PATCH', '/apps/target/config-vars', { [key]: 'v' }), [422], `key ${JSON.stringify(key)}`, /config var/i);
    }
    refused(await call('PATCH', '/apps/target/config-vars', { GOOD: { nested: true } }), [422], 'an object value', /GOOD/);
    refused(await call('PATCH', '/apps/target/config-vars', ['A']), [400, 422], 'an array body');
  });
});

test('when a body is 10 MB, malformed or of the wrong type, then 413/400 with a message, and nothing is made', async () => {
  const big = JSON.stringify({ BIG: 'x'.repeat(10 * 1024 * 1024) });
  await unchanged('bodies', async () => {
    refused(await call('PATCH', '/apps/target/config-vars', undefined, big), [413], '10 MB config', /large|limit|MB/i);
    refused(await call('POST', '/apps', undefined, JSON.stringify({ name: 'huge', pad: 'x'.repeat(10 * 1024 * 1024) })), [413], '10 MB app', /large|limit|MB/i);
    refused(await call('POST', '/apps', undefined, '{"name": "half'), [400], 'truncated JSON', /JSON/);
    refused(await call('PATCH', '/apps/target/formation', { updates: 'web=3' }), [400, 422], 'formation as a string');
  });
});

test('when domains have schemes, paths, ports, IPs, wildcards of the platform or name another app, then 4xx and nothing is added', async () => {
  const hosts = ['http://www.example.com', 'https://www.example.com/', 'www.example.com/path', 'www.example.com:8080', '127.0.0.1', '[::1]',
    '*.localhost', '*', 'other.localhost', 'target.localhost', 'localhost', `${'a'.repeat(64)}.example.com`, `${'a.'.repeat(127)}com`, 'exa mple.com', 'ex;ample.com', ''];
  await unchanged('domains', async () => {
    for (const hostname of hosts) refused(await call('POST', '/apps/target/domains', { hostname }), [409, 422], `domain ${JSON.stringify(hostname)}`);
  });
});

test('when dyno names, process types, quantities, sizes or build versions are malformed, then 4xx and nothing runs or builds', async () => {
  await unchanged('dynos and builds', async () => {
    for (const dyno of ['web.1;ls', '..%2f..', 'web.1%00', '--all']) {
      refused(await call('POST', `/apps/target/dynos/${dyno}/actions/stop`), [404, 422], `stop ${dyno}`);
      refused(await call('DELETE', `/apps/target/dynos/${dyno}`), [404, 422], `restart ${dyno}`);
    }
    for (const update of [{ type: 'web;rm', quantity: 1 }, { type: 'web', quantity: -1 }, { type: 'web', quantity: 1e9 }, { type: 'web', quantity: 'x' }, { type: 'web', size: '../huge' }]) {
      refused(await call('PATCH', '/apps/target/formation', { updates: [update] }), [404, 422], `formation ${JSON.stringify(update)}`);
    }
    refused(await call('POST', '/apps/target/dynos', { command: '' }), [422], 'an empty one-off command');
    for (const url of ['file:///etc/passwd', 'http://169.254.169.254/latest', `${t.url}/apps/other/sources/x`]) {
      refused(await call('POST', '/apps/target/builds', { source_blob: { url, version: 'v1' } }), [400, 404, 422], `source ${url}`);
    }
    refused(await call('POST', '/apps/target/builds', { source_blob: { url: `${t.url}/apps/target/sources/x`, version: '--upload-pack=x' } }), [422], 'an option-like version', /version/);
  });
});
