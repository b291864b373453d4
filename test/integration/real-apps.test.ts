/**
 * Apps shaped like the ones users push, each built from its lockfile and answering through the router: Express
 * with server-rendered views, a websocket app (ws with its optional native add-ons) whose messages reach a client
 * through the router, assets built in heroku-postbuild (esbuild, a devDependency pruned afterwards), a TypeScript
 * app compiled in its build script with devDependencies pruned, and a pnpm workspace.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { openWebSocket } from '../helpers/websocket.js';

const run = promisify(execFile);
let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({}, { dynos: true });
});
after(async () => t?.close());

/** Pushes the fixture as app and waits for its first answer through the router. */
async function deployed(fixture: string, path = '/'): Promise<string> {
  assert.equal((await t.api('POST', '/apps', { name: fixture })).status, 201);
  const push = await t.git(await t.checkout(fixture, fixture), ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  let body = '';
  await waitFor(`${fixture} answering`, async () => {
    const r = await t.get(fixture, path).catch(() => ({ status: 0, body: '' }));
    body = r.body;
    return r.status === 200;
  }, 60_000, 250);
  return body;
}

async function slugFiles(app: string): Promise<string[]> {
  const release = (await t.api('GET', `/apps/${app}/releases/v1`)).body;
  const slug = (await t.api('GET', `/apps/${app}/slugs/${release.slug.id}`)).body;
  return (await run('tar', ['-tzf', join(t.platform.config.dataDir, 'slugs', `${slug.checksum.slice(7)}.tar.gz`)], { maxBuffer: 64 << 20 })).stdout.split('\n');
}

test('when an Express app with server-rendered views is pushed, then it renders through the router', { timeout: 300_000 }, async () => {
  await deployed('express-views');
  const page = await t.get('express-views', '/?who=slipway');
  assert.match(page.body, /<h1>Hello, slipway<\/h1>/);
  assert.match(page.body, /rendered by express on node v\d+/);
});

test('when a websocket app with ws and its native add-ons is pushed, then messages go both ways through the router', { timeout: 300_000 }, async () => {
  const home = await deployed('websocket-ws');
  assert.match(home, /native add-ons: bufferutil\+utf-8-validate/, 'the optional native add-ons were built and load on the run stack');
  const ws = await openWebSocket(t.routerPort!, 'websocket-ws.localhost');
  try {
    assert.equal(await ws.send('ping through the router'), 'echo ping through the router (bufferutil+utf-8-validate)');
  } finally {
    ws.close();
  }
});

test('when an app builds its assets in heroku-postbuild, then the bundle is served and the bundler is pruned', { timeout: 300_000 }, async () => {
  await deployed('postbuild-assets');
  const bundle = await t.get('postbuild-assets', '/bundle.js');
  assert.equal(bundle.status, 200);
  assert.match(bundle.body, /assets built in heroku-postbuild/);
  assert.doesNotMatch(bundle.body, /^import /m, 'bundled, not the source');
  const files = await slugFiles('postbuild-assets');
  assert.ok(files.includes('./public/bundle.js'));
  assert.ok(!files.some((f) => f.startsWith('./node_modules/esbuild/')), 'devDependencies pruned');
});

test('when a TypeScript app compiles in its build script, then the compiled server answers and typescript is pruned', { timeout: 300_000 }, async () => {
  const body = await deployed('typescript-app');
  assert.match(body, /compiled from TypeScript, running on node v\d+/);
  const files = await slugFiles('typescript-app');
  assert.ok(files.includes('./dist/server.js'));
  assert.ok(!files.some((f) => f.startsWith('./node_modules/typescript/')), 'devDependencies pruned');
});

test('when a pnpm workspace is pushed, then its packages link to each other and the app answers', { timeout: 300_000 }, async () => {
  const body = await deployed('pnpm-workspace');
  assert.equal(body, 'hello world from a pnpm workspace package (2m)\n');
  const files = await slugFiles('pnpm-workspace');
  // The root devDependency no longer resolves (its link is gone; pnpm keeps its files in its virtual store).
  assert.ok(!files.some((f) => f.startsWith('./node_modules/is-number')), 'the root devDependency is pruned, the workspace links kept');
  assert.ok(files.some((f) => f.startsWith('./packages/web/node_modules/@ws/greet')), 'the workspace link stays');
});
