/**
 * Slugs as layers by role, from the build to the dyno: a build splits the compiled /app into runtime, dependencies
 * and app layers; a runtime or dependency tree already stored is not packed again (a code change packs the app
 * alone); a dyno's /app is an overlay of its slug's layers, the runtime unpacked once for every app on it. A slug
 * made before layers (one file) still runs, and its image is split by the same rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { attach } from '../../cli/commands/dynos.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { packSlugFile, type SlugBody } from '../helpers/slugs.js';

const run = promisify(execFile);
let t: TestPlatform;

before(async () => {
  t = await startTestPlatform({}, { dynos: true });
});
after(async () => t?.close());

type Layered = SlugBody & { id: string; layers: { role: string; digest: string; size: number }[] };

async function slugOf(app: string, version: string): Promise<Layered> {
  const release = (await t.api('GET', `/apps/${app}/releases/${version}`)).body;
  return (await t.api('GET', `/apps/${app}/slugs/${release.slug.id}`)).body;
}
const layer = (s: Layered, role: string) => s.layers.find((l) => l.role === role)?.digest;
const hex = (digest: string) => digest.slice('sha256:'.length);

/** A one-off dyno's output (attached, no TTY) and its exit status. */
async function oneOff(app: string, command: string): Promise<{ status: number; out: string }> {
  const dyno = await t.api('POST', `/apps/${app}/dynos`, { command, attach: true, force_no_tty: true });
  assert.equal(dyno.status, 201, JSON.stringify(dyno.body));
  let out = '';
  const stdin = new PassThrough();
  stdin.end();
  const status = await attach(dyno.body.attach_url, { stdin, write: (s) => (out += s.toString()) });
  return { status, out };
}

/** The lower dirs of /app inside a dyno of the app, top first (overlay's mount options). */
async function appLowers(app: string): Promise<string[]> {
  const r = await oneOff(app, "grep ' /app ' /proc/self/mountinfo");
  const m = /lowerdir=([^,\s]+)/.exec(r.out);
  assert.ok(m, `no overlay on /app: ${r.out}`);
  return m[1].split(':');
}

async function serving(app: string, text: string): Promise<void> {
  await waitFor(`${app} answering ${text}`, async () => {
    const r = await t.get(app).catch(() => undefined);
    return r?.status === 200 && r.body.includes(text);
  }, 60_000, 100);
}

test('when two apps on one node version are pushed and one again with only its code changed, then only its app layer is packed and the dynos run /app as an overlay of the layers, the runtime unpacked once for both', { timeout: 300_000 }, async () => {
  const dirs: Record<string, string> = {};
  for (const app of ['layered-a', 'layered-b']) {
    await t.createApp(app);
    dirs[app] = await t.checkout('node-deps', app);
    const push = await t.git(dirs[app], ['push', 'slipway', 'main']);
    assert.equal(push.code, 0, push.out);
    if (app === 'layered-b') assert.match(push.out, /Done: [\d.]+M \(runtime [\d.]+M, unchanged; dependencies [\d.]+M, unchanged; app [\d.]+M\)/, 'the other app\'s runtime and dependency trees are the same bytes');
  }
  const a1 = await slugOf('layered-a', 'v1');
  const b1 = await slugOf('layered-b', 'v1');
  assert.deepEqual(a1.layers.map((l) => l.role), ['runtime', 'dependencies', 'app']);
  assert.equal(layer(a1, 'runtime'), layer(b1, 'runtime'), 'one runtime layer for both apps');

  const server = join(dirs['layered-a'], 'server.js');
  await writeFile(server, (await readFile(server, 'utf8')).replace('deps ok', 'deps changed'));
  assert.equal((await t.git(dirs['layered-a'], ['commit', '-qam', 'code only'])).code, 0);
  const again = await t.git(dirs['layered-a'], ['push', 'slipway', 'main']);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /Restoring dependencies from the build cache \(package-lock\.json unchanged\)/);
  assert.match(again.out, /runtime [\d.]+M, unchanged; dependencies [\d.]+M, unchanged; app [\d.]+M\)/);
  const a2 = await slugOf('layered-a', 'v2');
  assert.equal(layer(a2, 'runtime'), layer(a1, 'runtime'));
  assert.equal(layer(a2, 'dependencies'), layer(a1, 'dependencies'), 'the same lockfile: the same dependency layer');
  assert.notEqual(layer(a2, 'app'), layer(a1, 'app'), 'the code changed: a new app layer');
  await serving('layered-a', 'deps changed');
  await serving('layered-b', 'deps ok');

  // /app in the dynos: app over dependencies over runtime; the runtime dir is the same for both apps.
  const cache = join(t.dataDir, 'layer-cache');
  const [aApp, aDeps, aRuntime] = await appLowers('layered-a');
  const [, , bRuntime] = await appLowers('layered-b');
  assert.equal(aRuntime, join(cache, hex(layer(a2, 'runtime')!), 'app'), 'the runtime unpacked once, for every app');
  assert.equal(bRuntime, aRuntime);
  assert.match(aDeps, new RegExp(`^${join(cache, hex(layer(a2, 'dependencies')!))}-u\\d+/app$`), 'dependencies unpacked for the app\'s uid');
  assert.match(aApp, new RegExp(`^${join(cache, hex(layer(a2, 'app')!))}-u\\d+/app$`));
  assert.deepEqual((await readdir(cache)).filter((n) => n.startsWith(hex(layer(a2, 'runtime')!))), [hex(layer(a2, 'runtime')!)]);

  // The app may write to /app and node_modules (its uid's); the shared runtime is read-only to it.
  const w = await oneOff('layered-a', 'touch /app/written /app/node_modules/written && echo writable; touch /app/.heroku/node/bin/x 2>/dev/null || echo runtime-read-only; node -e "console.log(require(\'ms\')(2000))"');
  assert.equal(w.status, 0, w.out);
  assert.match(w.out, /writable/);
  assert.match(w.out, /runtime-read-only/);
  assert.match(w.out, /^2s$/m);
});

test('when a slug was made before layers (one file), then its dynos run from it and its image has the layers a build makes', { timeout: 300_000 }, async () => {
  const s = await slugOf('layered-a', 'v2');
  // The same /app as one slug file, as builds made them before layers.
  const tmp = await mkdtemp(join(tmpdir(), 'slipway-legacy-'));
  try {
    for (const l of s.layers) await run('tar', ['-xzf', join(t.dataDir, 'images', 'blobs', 'sha256', hex(l.digest)), '-C', tmp]);
    const legacy = await packSlugFile(join(tmp, 'app'), join(t.dataDir, 'slugs'));
    await t.platform.db.query('UPDATE slugs SET digest = $2, layers = NULL WHERE id = $1', [s.id, legacy]);
    assert.equal((await t.api('DELETE', '/apps/layered-a/dynos')).status, 202);
    await waitFor('a dyno of the slug file', async () => {
      const dynos = (await t.api('GET', '/apps/layered-a/dynos')).body as { type: string; state: string }[];
      return dynos.some((d) => d.type === 'web' && d.state === 'up') && (await appLowers('layered-a')).length === 1;
    }, 60_000, 250);
    const [only] = await appLowers('layered-a');
    assert.match(only, new RegExp(`^${join(t.dataDir, 'slug-cache', legacy)}-u\\d+$`), 'the slug file unpacked, as before layers');
    await serving('layered-a', 'deps changed');
    const manifest = await (await fetch(`${t.url}/v2/layered-a/manifests/v2`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json() as { layers: { digest: string }[] };
    assert.deepEqual(manifest.layers.slice(1, 4).map((l) => l.digest), s.layers.map((l) => l.digest), 'split from the file by the same rule: the same runtime, dependency and app layers');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
