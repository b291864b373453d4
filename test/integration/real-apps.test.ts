/**
 * Apps shaped like the ones users push, each built from its lockfile and answering through the router: Express
 * with server-rendered views, a websocket app (ws with its optional native add-ons) whose messages reach a client
 * through the router, assets built in heroku-postbuild (esbuild, a devDependency pruned afterwards), a TypeScript
 * app compiled in its build script with devDependencies pruned, a pnpm workspace, and a yarn 4 workspace under
 * Plug'n'Play (yarn's default) and with node_modules.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { slugEntries, slugFileBytes, type SlugBody } from '../helpers/slugs.js';
import { openWebSocket } from '../helpers/websocket.js';

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

async function slugOf(app: string, version = 'v1'): Promise<SlugBody> {
  const release = (await t.api('GET', `/apps/${app}/releases/${version}`)).body;
  return (await t.api('GET', `/apps/${app}/slugs/${release.slug.id}`)).body;
}

const slugFiles = async (app: string, version = 'v1') => slugEntries(t.platform.config.dataDir, await slugOf(app, version));

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

test('when a yarn 4 workspace is pushed, then it builds from its lockfile under Plug\'n\'Play, starts with yarn start, and also with node_modules', { timeout: 300_000 }, async () => {
  // Nothing pinned but packageManager; yarn's default linker (Plug'n'Play): no node_modules, a .pnp.cjs.
  assert.equal(await deployed('yarn-workspace'), 'hello world from a yarn workspace package (2m)\n');
  const release = (await t.api('GET', '/apps/yarn-workspace/releases/v1')).body;
  assert.equal(release.process_types.web, 'yarn start', 'packages resolve only in processes yarn starts');
  const files = await slugFiles('yarn-workspace');
  assert.ok(files.includes('./.pnp.cjs'));
  assert.ok(!files.some((f) => f.startsWith('./node_modules/')));
  const pnp = (await slugFileBytes(t.platform.config.dataDir, await slugOf('yarn-workspace'), './.pnp.cjs')).toString();
  assert.match(pnp, /"ms", "npm:2\.1\.3"/);
  assert.doesNotMatch(pnp, /is-number/, 'the devDependency is pruned from the resolution map');

  // The same workspace with nodeLinker: node-modules starts with npm start, its packages' archives left out.
  const dir = await t.checkout('yarn-workspace', 'yarn-workspace');
  await writeFile(join(dir, '.yarnrc.yml'), 'nodeLinker: node-modules\n');
  for (const args of [['add', '-A'], ['commit', '-q', '-m', 'node_modules']]) assert.equal((await t.git(dir, args)).code, 0);
  const push = await t.git(dir, ['push', '-f', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const v2 = (await t.api('GET', '/apps/yarn-workspace/releases/v2')).body;
  assert.equal(v2.process_types.web, 'npm start');
  const linked = await slugFiles('yarn-workspace', 'v2');
  assert.ok(linked.some((f) => f.startsWith('./node_modules/ms/')));
  assert.ok(linked.includes('./node_modules/@yw/greet'), 'the workspace is linked');
  assert.ok(!linked.some((f) => f.startsWith('./node_modules/is-number')), 'the devDependency is pruned');
  assert.ok(!linked.some((f) => f.startsWith('./.yarn/cache/')), 'the archives stay in the build cache');
  const answers = async (v: number) => (await t.get('yarn-workspace', '/').catch(() => ({ body: '' }))).body === 'hello world from a yarn workspace package (2m)\n'
    && (await t.api('GET', '/apps/yarn-workspace/releases')).body.at(-1).status === 'succeeded' && (await t.api('GET', '/apps/yarn-workspace/releases')).body.at(-1).version === v;
  await waitFor('v2 answering', () => answers(2), 60_000, 250);

  // A project that checks in its yarn release (.yarnrc.yml yarnPath) builds and starts with that one.
  const pinned = await t.checkout('yarn-workspace', 'yarn-workspace');
  const release4 = await slugFileBytes(t.platform.config.dataDir, await slugOf('yarn-workspace'), './.heroku/yarn/bin/yarn.js');
  await mkdir(join(pinned, '.yarn', 'releases'), { recursive: true });
  await writeFile(join(pinned, '.yarn', 'releases', 'yarn-4.18.1.cjs'), release4);
  await writeFile(join(pinned, '.yarnrc.yml'), 'yarnPath: .yarn/releases/yarn-4.18.1.cjs\n');
  for (const args of [['add', '-A'], ['commit', '-q', '-m', 'yarnPath']]) assert.equal((await t.git(pinned, args)).code, 0);
  const third = await t.git(pinned, ['push', '-f', 'slipway', 'main']);
  assert.equal(third.code, 0, third.out);
  assert.match(third.out, /Installing dependencies with yarn 4\.18\.1/);
  const own = await slugFiles('yarn-workspace', 'v3');
  assert.ok(!own.some((f) => f.startsWith('./.heroku/yarn/')), 'no yarn installed beside the project\'s own');
  await waitFor('v3 answering', () => answers(3), 60_000, 250);
});
