/**
 * app.json, Heroku's and Dokku's app manifest, pushed with the app: formation on the first deploy, env (defaults,
 * made secrets, required values) on the first deploy, scripts.postdeploy once after it, buildpacks when the app
 * names none; a malformed field fails the build naming it. Real git, PostgreSQL, Redis and build containers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
});
after(async () => t?.close());


/** A checkout of FIXTURE for APP with app.json (and any other files) written and committed. */
async function withManifest(fixture: string, app: string, manifest: unknown, files: Record<string, string> = {}): Promise<string> {
  const dir = await t.checkout(fixture, app);
  await commitManifest(dir, manifest, files);
  return dir;
}

async function commitManifest(dir: string, manifest: unknown, files: Record<string, string> = {}): Promise<void> {
  await writeFile(join(dir, 'app.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  for (const args of [['add', '-A'], ['commit', '-q', '-m', 'app.json']]) assert.equal((await t.git(dir, args)).code, 0);
}

const config = async (app: string) => (await t.api('GET', `/apps/${app}/config-vars`)).body as Record<string, string>;

test('when app.json names a formation, then the first deploy scales to it, a later one keeps the scale, and a bad field fails the build naming it', async () => {
  await t.createApp('formed');
  const dir = await withManifest('procfile-shell', 'formed', { formation: { web: { quantity: 2, size: 'Standard-2X' }, worker: { quantity: 1 } } });
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const scale = async () => Object.fromEntries(((await t.api('GET', '/apps/formed/formation')).body as { type: string; quantity: number; size: string }[])
    .map((f) => [f.type, `${f.quantity}:${f.size}`]));
  assert.deepEqual(await scale(), { web: '2:standard-2x', worker: '1:standard-1x' });
  await writeFile(join(dir, 'app.json'), JSON.stringify({ formation: { web: { quantity: 5 } } }));
  await t.git(dir, ['commit', '-qam', 'another formation']);
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0);
  assert.deepEqual(await scale(), { web: '2:standard-2x', worker: '1:standard-1x' }, 'a type already scaled keeps its scale');
  await writeFile(join(dir, 'app.json'), JSON.stringify({ formation: { worker: { quantity: -1 } } }));
  await t.git(dir, ['commit', '-qam', 'bad formation']);
  const bad = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /app\.json: formation\.worker\.quantity must be a whole number from 0 to 100\./);
  await writeFile(join(dir, 'app.json'), JSON.stringify({ formation: { web: { size: 'huge-9x' } } }));
  await t.git(dir, ['commit', '-qam', 'bad size']);
  assert.match((await t.git(dir, ['push', 'slipway', 'main'])).out, /app\.json: formation\.web\.size is not a dyno size \(huge-9x\)/);
});


test('when app.json has env and scripts.postdeploy, then the first deploy needs the required vars, sets the defaults and a secret, and runs postdeploy once', async () => {
  await t.createApp('manifested');
  const manifest = {
    env: {
      GREETING: { value: 'hello' }, SESSION_SECRET: { generator: 'secret' }, API_KEY: { description: "the payment provider's key" },
      OPTIONAL_FLAG: { required: false }, SHORTHAND: 'short',
    },
    scripts: { postdeploy: 'echo "postdeploy-ran-with $GREETING on $DYNO"; printf %s "$SESSION_SECRET" | wc -c' },
  };
  const dir = await withManifest('procfile-shell', 'manifested', manifest);
  const refused = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /app\.json: env requires API_KEY \(the payment provider's key\), not set on manifested\. Set it with config:set and push again\./);
  assert.deepEqual(await config('manifested'), {}, 'a refused build sets nothing');

  assert.equal((await t.api('PATCH', '/apps/manifested/config-vars', { API_KEY: 'pk_live_given' })).status, 200);
  const first = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /Setting config vars from app\.json: GREETING, SESSION_SECRET, SHORTHAND/);
  assert.match(first.out, /Running postdeploy script/);
  assert.match(first.out, /postdeploy-ran-with hello on postdeploy\.1/);
  assert.match(first.out, /remote: +64\s*\n/, 'the made secret is 64 hex characters, given to the script');
  assert.match(first.out, /Postdeploy script done/);
  const after = await config('manifested');
  assert.equal(after.API_KEY, 'pk_live_given');
  assert.equal(after.GREETING, 'hello');
  assert.equal(after.SHORTHAND, 'short');
  assert.match(after.SESSION_SECRET, /^[0-9a-f]{64}$/);
  assert.equal(after.OPTIONAL_FLAG, undefined);
  assert.equal(first.out.includes(after.SESSION_SECRET), false, 'the secret never printed');
  const release = (await t.api('GET', '/apps/manifested/releases')).body.at(-1);
  assert.equal(release.status, 'succeeded');
  assert.equal((await t.api('GET', `/apps/manifested/releases/${release.version}/config-vars`)).body.SESSION_SECRET, after.SESSION_SECRET);

  // Later deploys: app.json's env is not applied again, and postdeploy does not run again.
  await commitManifest(dir, { ...manifest, env: { GREETING: { value: 'changed' }, NEW_REQUIRED: {} } });
  const second = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(second.code, 0, second.out);
  assert.doesNotMatch(second.out, /postdeploy|Setting config vars/i);
  assert.deepEqual(await config('manifested'), after);
});

test('when the postdeploy script fails, then the release stays live, the push says so, and the script runs again after the next deploy', async () => {
  await t.createApp('post-fails');
  const dir = await withManifest('procfile-shell', 'post-fails', { scripts: { postdeploy: 'echo seeding; exit 4' } });
  const first = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /seeding/);
  assert.match(first.out, /The postdeploy script exited with status 4; v1 is live\. It runs again after the next deploy\./);
  assert.equal((await t.api('GET', '/apps/post-fails/releases/v1')).body.status, 'succeeded');
  await commitManifest(dir, { scripts: { postdeploy: 'echo seeded' } });
  const second = await t.git(dir, ['push', 'slipway', 'main']);
  assert.match(second.out, /remote: +seeded/);
  assert.match(second.out, /Postdeploy script done/);
  await commitManifest(dir, { scripts: { postdeploy: 'echo once-more' } });
  assert.doesNotMatch((await t.git(dir, ['push', 'slipway', 'main'])).out, /once-more/);
});

test('when app.json names buildpacks, then they are used unless the app names its own', async () => {
  await t.createApp('manifest-bp');
  // A static site that would be detected as static, told by app.json to use the Procfile buildpack.
  const dir = await withManifest('static-site', 'manifest-bp', { buildpacks: [{ url: 'heroku/procfile' }] }, { Procfile: 'web: python3 -m http.server $PORT\n' });
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /-----> Procfile app detected/);
  assert.doesNotMatch(push.out, /Static app detected/);
  // The app's own buildpacks (installations) come first.
  assert.equal((await t.api('PUT', '/apps/manifest-bp/buildpack-installations', { updates: [{ buildpack: 'heroku/static' }] })).status, 200);
  await commitManifest(dir, { buildpacks: [{ url: 'heroku/procfile' }] }, { 'extra.html': '<p>x</p>' });
  assert.match((await t.git(dir, ['push', 'slipway', 'main'])).out, /-----> Static app detected/);
});

test('when a field of app.json is malformed, then the build fails naming it and the ref does not move', async () => {
  await t.createApp('manifest-bad');
  const dir = await t.checkout('procfile-shell', 'manifest-bad');
  const cases: [unknown, RegExp][] = [
    ['{"env": ', /app\.json is not valid JSON\./],
    [{ scripts: { postdeploy: 5 } }, /app\.json: scripts\.postdeploy must be a command \(a string\)\./],
    [{ scripts: 'npm run seed' }, /app\.json: scripts must be an object/],
    [{ env: { 'BAD-KEY': 'x' } }, /app\.json: env\.BAD-KEY: not a config var name/],
    [{ env: { TOKEN: { generator: 'uuid' } } }, /app\.json: env\.TOKEN\.generator must be "secret"/],
    [{ env: { PORTS: { value: 5000 } } }, /app\.json: env\.PORTS\.value must be a string\./],
    [{ buildpacks: 'heroku/nodejs' }, /app\.json: buildpacks must be a list like \[\{"url": "heroku\/nodejs"\}\]\./],
    [{ buildpacks: [{ name: 'heroku/nodejs' }] }, /app\.json: buildpacks\[0\]\.url must be a buildpack name or URL\./],
  ];
  for (const [manifest, error] of cases) {
    await commitManifest(dir, manifest);
    const push = await t.git(dir, ['push', 'slipway', 'main']);
    assert.notEqual(push.code, 0, JSON.stringify(manifest));
    assert.match(push.out, error, JSON.stringify(manifest));
  }
  assert.equal((await t.git(dir, ['ls-remote', 'slipway', 'refs/heads/main'])).out.trim(), '');
});
