import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { slugEntries } from '../helpers/slugs.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
});
after(async () => t?.close());

async function pushFixture(fixture: string, app: string) {
  assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
  const dir = await t.checkout(fixture, app);
  return { dir, push: await t.git(dir, ['push', 'slipway', 'main']) };
}
async function slugFiles(app: string, version: number) {
  const release = (await t.api('GET', `/apps/${app}/releases/v${version}`)).body;
  const slug = (await t.api('GET', `/apps/${app}/slugs/${release.slug.id}`)).body;
  return slugEntries(t.dataDir, slug);
}

test('when a Node app without dependencies is pushed, then the node engines.node asks for is installed and web is npm start', { timeout: 300_000 }, async () => {
  const { push } = await pushFixture('node-nodeps', 'node-plain');
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /remote: -----> Node\.js app detected/);
  assert.match(push.out, /remote: -----> Installing node 20\.\d+\.\d+/);
  assert.match(push.out, /remote: -----> Installing npm \d+\.\d+\.\d+/);
  assert.match(push.out, /remote: -----> No dependencies in package\.json: nothing to install/);
  assert.match(push.out, /Released v1/);
  assert.deepEqual((await t.api('GET', '/apps/node-plain/releases/v1')).body.process_types, { web: 'npm start' });
  const files = await slugFiles('node-plain', 1);
  for (const f of ['./.heroku/node/bin/node', './.heroku/node/bin/npm', './.profile.d/nodejs.sh', './server.js']) assert.ok(files.includes(f), f);
});

test('when a Node app pins an old engines.node (4.x), then node 4 and an npm that runs on it are installed', { timeout: 300_000 }, async () => {
  const { push } = await pushFixture('node-old', 'node-ancient');
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Installing node 4\.\d+\.\d+/);
  assert.match(push.out, /Installing npm 2\.15\.\d+/);
  assert.match(push.out, /Released v1/);
});

test('when a Node app pins a node whose package nests its binary in a tarball (4.0.0; 0.8.6, whose nested dir is not the one it names), then that node installs', { timeout: 300_000 }, async () => {
  for (const [version, app] of [['4.0.0', 'node-nested'], ['0.8.6', 'node-oldest']]) {
    assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
    const dir = await t.checkout('node-old', app);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: app, private: true, engines: { node: version }, scripts: { start: 'node server.js' } }));
    await t.git(dir, ['commit', '-qam', `node ${version}`]);
    const push = await t.git(dir, ['push', 'slipway', 'main']);
    assert.equal(push.code, 0, push.out);
    assert.match(push.out, new RegExp(`Installing node ${version.replace(/\./g, '\\.')}`));
    assert.match(push.out, /Installing npm 2\.15\.\d+/);
    assert.match(push.out, /Released v1/);
  }
});

test('when engines.node names a version no package has, then the build fails naming it', { timeout: 120_000 }, async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'node-nonesuch' })).status, 201);
  const dir = await t.checkout('node-old', 'node-nonesuch');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', private: true, engines: { node: '3.99.0' }, scripts: { start: 'node server.js' } }));
  await t.git(dir, ['commit', '-qam', 'no such node']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /No node version satisfies engines\.node "3\.99\.0"/);
});

test('when a Node app has a lockfile, then npm ci installs it, the build script runs and devDependencies are pruned', { timeout: 300_000 }, async () => {
  const { dir, push } = await pushFixture('node-deps', 'node-locked');
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Installing dependencies with npm ci/);
  assert.match(push.out, /Running build/);
  assert.match(push.out, /build step ran/);
  assert.match(push.out, /Pruning devDependencies/);
  const files = await slugFiles('node-locked', 1);
  assert.ok(files.includes('./node_modules/ms/package.json'));
  assert.ok(files.includes('./built.txt'));
  assert.ok(!files.some((f) => f.startsWith('./node_modules/is-number/')), 'devDependency pruned');

  // A second push uses the cached node.
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'again']);
  const again = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /Using node [\d.]+ from the build cache/);
  assert.match(again.out, /Released v2/);
});

test('when a Node build script fails, then the push is rejected with its output and no release is made', { timeout: 300_000 }, async () => {
  const { dir, push } = await pushFixture('failing-build', 'node-broken');
  assert.notEqual(push.code, 0);
  assert.match(push.out, /remote: .*intentional build failure/);
  assert.match(push.out, /Failed to compile Node\.js app/);
  assert.match(push.out, /pre-receive hook declined/);
  assert.equal((await t.git(dir, ['ls-remote', 'slipway'])).out.trim(), '');
  assert.deepEqual((await t.api('GET', '/apps/node-broken/releases')).body, []);
  assert.equal((await t.api('GET', '/apps/node-broken/builds')).body[0].status, 'failed');
});

test('when a Node app has a yarn.lock, then yarn (engines.yarn) installs from it', { timeout: 300_000 }, async () => {
  const { push } = await pushFixture('node-yarn', 'node-yarned');
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Installing dependencies with yarn 1\.\d+\.\d+/);
  const files = await slugFiles('node-yarned', 1);
  assert.ok(files.includes('./node_modules/ms/package.json'));
  assert.ok(files.includes('./.heroku/yarn/bin/yarn.js'));
});

test('when a Node app has a pnpm-lock.yaml, then pnpm installs from it', { timeout: 300_000 }, async () => {
  const { push } = await pushFixture('node-pnpm', 'node-pnpmed');
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Installing dependencies with pnpm \d+\.\d+\.\d+/);
  const files = await slugFiles('node-pnpmed', 1);
  assert.ok(files.some((f) => f.startsWith('./node_modules/ms')), 'ms installed');
});
