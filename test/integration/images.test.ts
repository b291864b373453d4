/**
 * Releases as OCI images, checked with tools nobody here wrote (Debian's skopeo and podman): the API's /v2/
 * registry endpoint lists a release's layers to `skopeo inspect` with an API token and to nobody else; `podman run`
 * of the pulled image serves the app on $PORT with a config var given at run time; `slipway releases:export`
 * writes an OCI image layout that `skopeo copy oci:…` accepts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freePort, waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway } from '../helpers/slipway.js';
import { dynoSize } from '../../platform/sizes.js';

const exec = promisify(execFile);
let t: TestPlatform;
let registry: string;
let other: string;
let work: string;
let dir: string;
const container = `slipway-test-${process.pid}`;

/** A tool's stdout, or its failure with what it printed. */
async function tool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(cmd, args, { maxBuffer: 64 << 20, timeout: 180_000 });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

before(async () => {
  t = await startTestPlatform({ SLIPWAY_KEEP_RELEASES: '1' });
  registry = new URL(t.url).host;
  work = await mkdtemp(join(tmpdir(), 'slipway-images-'));
  const u = await t.platform.services.users.create({ email: 'other@example.com', password: 'other-password' });
  other = (await t.platform.services.users.createToken(u)).token;
  await t.createApp('imaged');
  dir = await t.checkout('node-default', 'imaged');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
});
after(async () => {
  await tool('podman', ['rm', '-f', container]);
  await tool('podman', ['rmi', '-f', `${registry}/imaged:v1`]);
  await t?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const inspect = (ref: string, creds?: string) => tool('skopeo', ['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : ['--no-creds']), `docker://${registry}/${ref}`]);

test('when skopeo inspects a release with an API token, then it lists the run stack, runtime, app and launch layers and the process types', async () => {
  const r = await inspect('imaged:v1', `anyone:${t.adminToken}`);
  assert.equal(r.code, 0, r.out);
  const info = JSON.parse(r.out) as { Layers: string[]; Labels: Record<string, string>; Os: string; Architecture: string };
  assert.equal(info.Layers.length, 4, 'run stack, runtime (node), app, launcher: no dependencies');
  assert.equal(info.Labels['io.slipway.release'], 'v1');
  assert.equal(info.Labels['io.slipway.process.web'], 'npm start');
  assert.deepEqual([info.Os, info.Architecture], ['linux', 'amd64']);
  const latest = JSON.parse((await inspect('imaged:latest', `anyone:${t.adminToken}`)).out) as { Digest: string };
  assert.equal(latest.Digest, (JSON.parse(r.out) as { Digest: string }).Digest, 'latest is the current release');
  const tags = JSON.parse((await tool('skopeo', ['list-tags', '--tls-verify=false', '--creds', `anyone:${t.adminToken}`, `docker://${registry}/imaged`])).out) as { Tags: string[] };
  assert.deepEqual(tags.Tags, ['v1', 'latest']);
});

test('when another user, no token or a wrong one asks, then the registry refuses: unauthorized, or no such repository', async () => {
  const otherUser = await inspect('imaged:v1', `other:${other}`);
  assert.notEqual(otherUser.code, 0);
  assert.match(otherUser.out, /name unknown|404|not found/i);
  const none = await inspect('imaged:v1');
  assert.notEqual(none.code, 0);
  assert.match(none.out, /unauthorized|authentication required|401/i);
  const wrong = await inspect('imaged:v1', 'anyone:slw_not-a-token');
  assert.match(wrong.out, /unauthorized|authentication required|401/i);
  // A blob of this app's image, asked for through another app of the same user: not served.
  await t.createApp('neighbour');
  const manifest = await (await fetch(`${t.url}/v2/imaged/manifests/v1`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json() as { layers: { digest: string }[] };
  const appLayer = manifest.layers[2].digest;
  assert.equal((await fetch(`${t.url}/v2/imaged/blobs/${appLayer}`, { method: 'HEAD', headers: { authorization: `Bearer ${t.adminToken}` } })).status, 200);
  const through = await fetch(`${t.url}/v2/neighbour/blobs/${appLayer}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.equal(through.status, 404);
  assert.equal(((await through.json()) as { errors: { code: string }[] }).errors[0].code, 'BLOB_UNKNOWN');
});

test('when podman runs the release image pulled from Slipway, then it serves the app on $PORT with a config var given at run time', async () => {
  const port = await freePort();
  const pulled = await tool('podman', ['pull', '--tls-verify=false', '--creds', `anyone:${t.adminToken}`, `${registry}/imaged:v1`]);
  assert.equal(pulled.code, 0, pulled.out);
  // runc, as Slipway's dynos use (crun does not work here), with a standard-1x dyno's limits (podman's defaults are
  // above what this machine lets a container have).
  const size = dynoSize('standard-1x')!;
  const ulimits = ['--ulimit', `nofile=${size.nofile}:${size.nofile}`, '--ulimit', `nproc=${size.nproc}:${size.nproc}`];
  const r = await tool('podman', ['run', '-d', '--name', container, '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--network', 'host', ...ulimits,
    '-e', `PORT=${port}`, '-e', 'GREETING=from-podman', `${registry}/imaged:v1`]);
  assert.equal(r.code, 0, r.out);
  const body = await waitFor('the app in podman to answer', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return res?.ok ? res.text() : undefined;
  }, 60_000, 250).catch(async (e) => {
    const state = (await tool('podman', ['ps', '-a', '--filter', `name=${container}`, '--format', '{{.Status}}'])).out.trim();
    throw new Error(`${(e as Error).message} (the container: ${state})\n${(await tool('podman', ['logs', container])).out}`);
  });
  assert.match(body, /^hello from node v\d+\.\d+\.\d+ from-podman$/m);
});

test('when a release is exported, then the directory is an OCI image layout skopeo copies', async () => {
  const env = cleanEnv({ HOME: work, SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken });
  const out = join(work, 'layout');
  const r = await slipway(['releases:export', 'v1', '-a', 'imaged', '--output', out], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Exported imaged v1 as .*:v1 \(4 layers, [\d.]+ MB; manifest sha256:[0-9a-f]{64}\)/);
  assert.deepEqual(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const copied = await tool('skopeo', ['copy', `oci:${out}:v1`, `dir:${join(work, 'copied')}`]);
  assert.equal(copied.code, 0, copied.out);
  const inspected = JSON.parse((await tool('skopeo', ['inspect', `oci:${out}:v1`])).out) as { Labels: Record<string, string> };
  assert.equal(inspected.Labels['io.slipway.app'], 'imaged');
  const missing = await slipway(['releases:export', 'v9', '-a', 'imaged', '--output', out], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Couldn't find that release/);
});

test('when an app with a lockfile is pushed again with only its code changed, then its image reuses the dependency layer', async () => {
  await t.createApp('with-deps');
  const deps = await t.checkout('node-deps', 'with-deps');
  assert.equal((await t.git(deps, ['push', 'slipway', 'main'])).code, 0);
  const get = async (ref: string) => (await (await fetch(`${t.url}/v2/with-deps/manifests/${ref}`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json()) as { layers: { digest: string }[] };
  const v1 = await get('v1');
  assert.equal(v1.layers.length, 5, 'run stack, runtime, dependencies, app, launcher');
  await writeFile(join(deps, 'server.js'), `${await readFile(join(deps, 'server.js'), 'utf8')}\n// changed\n`);
  await t.git(deps, ['commit', '-qam', 'code only']);
  assert.equal((await t.git(deps, ['push', 'slipway', 'main'])).code, 0);
  const v2 = await get('v2');
  assert.deepEqual(v2.layers.slice(0, 3).map((l) => l.digest), v1.layers.slice(0, 3).map((l) => l.digest), 'the same run stack, runtime and dependency layers');
  assert.notEqual(v2.layers[3].digest, v1.layers[3].digest, 'a new app layer');
  // Its disk use: the run stack layer is shared with the other app's images; its runtime, dependencies and app are its own.
  const use = (await t.api('GET', '/apps/with-deps/disk-usage')).body as { slugs: { count: number; bytes: number }; images: { own_bytes: number; shared_bytes: number } };
  assert.ok(use.slugs.count >= 1 && use.slugs.bytes === 0, `slugs kept as layers, no slug files: ${JSON.stringify(use)}`);
  assert.ok(use.images.shared_bytes > 10 * 2 ** 20 && use.images.own_bytes > 0, JSON.stringify(use));
  const info = await slipway(['apps:info', '-a', 'with-deps'], cleanEnv({ HOME: work, SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken }));
  assert.match(info.stdout, /Disk Usage: +[\d.]+ [KMG]?B \(\d+ slugs? kept: layers [\d.]+ [KMG]?B of its own and [\d.]+ MB shared with other apps\)/, info.stdout + info.stderr);
});

test('when a release\'s slug is garbage-collected, then its image goes too: its own layers are removed, the shared ones stay', async () => {
  const get = (ref: string) => fetch(`${t.url}/v2/imaged/manifests/${ref}`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  const v1 = await (await get('v1')).json() as { layers: { digest: string }[] };
  await writeFile(join(dir, 'VERSION'), '2\n');
  assert.equal((await t.git(dir, ['add', '-A'])).code, 0);
  assert.equal((await t.git(dir, ['commit', '-q', '-m', 'v2'])).code, 0);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  // With SLIPWAY_KEEP_RELEASES=1 the worker expires v1's slug after this deploy: v1's image is not asked for again.
  const v2 = await (await get('v2')).json() as { layers: { digest: string }[] };
  assert.equal(v1.layers[0].digest, v2.layers[0].digest, 'one run stack layer for both');
  assert.equal(v1.layers[1].digest, v2.layers[1].digest, 'one runtime layer for both');
  assert.notEqual(v1.layers[2].digest, v2.layers[2].digest);
  // An hour later (the blobs' times set back): the collection the worker runs after deploys and every 10 minutes.
  const blobsDir = join(t.dataDir, 'images', 'blobs', 'sha256');
  const hourAgo = new Date(Date.now() - 2 * 3600_000);
  for (const f of await readdir(blobsDir)) await utimes(join(blobsDir, f), hourAgo, hourAgo);
  await t.platform.services.collectSlugs();
  // (The worker's own pass after the deploy may be the one that removes them: what is left is what counts.)
  await t.platform.services.images.collect();
  const left = new Set(await readdir(blobsDir));
  const file = (d: string) => d.slice('sha256:'.length);
  assert.ok(!left.has(file(v1.layers[2].digest)), "v1's app layer is removed");
  assert.ok(v2.layers.every((l) => left.has(file(l.digest))), "v2's layers stay, the run stack and runtime it shares with v1 among them");
  const gone = await get('v1');
  assert.equal(gone.status, 404);
  assert.match(JSON.stringify(await gone.json()), /MANIFEST_UNKNOWN.*removed by garbage collection/);
  assert.equal((await inspect('imaged:v2', `anyone:${t.adminToken}`)).code, 0);
});
