/** The static buildpack's server, run as a dyno would run it (HOME=/app is the fixture), on a loopback port. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { FIXTURES } from '../helpers/platform.js';
import { freePort, waitFor } from '../helpers/procs.js';

let child: ChildProcess;
let base: string;
let app: string;
before(async () => {
  app = await mkdtemp(join(tmpdir(), 'slipway-static-'));
  await cp(join(FIXTURES, 'static-site'), app, { recursive: true });
  await writeFile(join(app, '.env'), 'SECRET=1\n');
  await writeFile(join(app, 'static.json'), JSON.stringify({ clean_urls: true }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn('python3', [join(PACKAGE_ROOT, 'buildpacks', 'static', 'lib', 'static-server.py')], { env: { PATH: '/usr/bin:/bin', HOME: app, PORT: String(port) }, stdio: 'ignore' });
  await waitFor('the static server', async () => (await fetch(base + '/')).ok, 10_000);
});
after(async () => {
  child?.kill();
  await rm(app, { recursive: true, force: true });
});

test('when a file is asked for, then it is served with its content type', async () => {
  const index = await fetch(base + '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await index.text(), /Hello from a static site/);
  const css = await fetch(base + '/style.css');
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal((await fetch(base + '/docs/notes.txt')).headers.get('content-type'), 'text/plain; charset=utf-8');
});

test('when clean_urls is on, then /about serves about.html', async () => {
  const r = await fetch(base + '/about');
  assert.equal(r.status, 200);
  assert.match(await r.text(), /docs/);
});

test('when something is missing, a directory has no index, a dotfile or a path escape is asked for, then 404', async () => {
  for (const path of ['/missing.html', '/docs/', '/docs', '/.env', '/.slipway/static-server.py', '/%2e%2e/%2e%2e/etc/passwd', '/../../etc/passwd']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(await r.text(), /SECRET|root:|notes\.txt/, path);
  }
});
