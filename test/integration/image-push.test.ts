/**
 * Release images pushed to an external registry (SLIPWAY_IMAGE_PUSH_URL): Debian's `docker-registry` on loopback,
 * with htpasswd (Basic) auth. Once a release is current, the worker pushes its image as PATH/APP:vN and :latest; the
 * registry then serves the same manifest to `skopeo inspect`; the next release moves latest and leaves vN.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freePort, waitFor } from '../helpers/procs.js';

const exec = promisify(execFile);
const PASSWORD = 'registry-secret-pw';
let t: TestPlatform;
let registry: ChildProcess;
let dir: string;
let at: string;
let registryLog = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-registry-'));
  const port = await freePort();
  at = `127.0.0.1:${port}`;
  await writeFile(join(dir, 'htpasswd'), (await exec('htpasswd', ['-Bbn', 'pusher', PASSWORD])).stdout);
  await writeFile(join(dir, 'config.yml'), [
    'version: 0.1', 'log: {level: error}', `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}}`,
    `http: {addr: "${at}"}`, `auth: {htpasswd: {realm: test, path: ${join(dir, 'htpasswd')}}}`, '',
  ].join('\n'));
  registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  registry.stderr!.on('data', (d) => (registryLog = (registryLog + d).slice(-4000))); // its 404s while polled are noise
  await waitFor('the registry to listen', async () => (await fetch(`http://${at}/v2/`).catch(() => undefined))?.status === 401, 15_000, 100);
  t = await startTestPlatform({ SLIPWAY_IMAGE_PUSH_URL: `http://${at}/slipway`, SLIPWAY_IMAGE_PUSH_USER: 'pusher', SLIPWAY_IMAGE_PUSH_PASSWORD: PASSWORD });
});
after(async () => {
  await t?.close();
  registry?.kill('SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const inspect = async (ref: string) => JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `pusher:${PASSWORD}`, `docker://${at}/slipway/${ref}`])).stdout) as { layers: { digest: string }[] };
const ours = async (ref: string) => (await (await fetch(`${t.url}/v2/pushed/manifests/${ref}`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json()) as { layers: { digest: string }[] };

test('when a release becomes current, then its image is in the external registry as vN and latest, the manifest Slipway serves', async () => {
  await t.createApp('pushed');
  const checkout = await t.checkout('node-default', 'pushed');
  assert.equal((await t.git(checkout, ['push', 'slipway', 'main'])).code, 0);
  const v1 = await waitFor('v1 in the registry', () => inspect('pushed:v1').catch(() => undefined), 60_000, 500).catch((e) => {
    throw new Error(`${(e as Error).message}; the registry's log ends:\n${registryLog.slice(-1500)}`);
  });
  assert.deepEqual(v1, await ours('v1'));
  assert.deepEqual(await inspect('pushed:latest'), v1);

  await writeFile(join(checkout, 'VERSION'), '2\n');
  await t.git(checkout, ['add', '-A']);
  await t.git(checkout, ['commit', '-qm', 'v2']);
  assert.equal((await t.git(checkout, ['push', 'slipway', 'main'])).code, 0);
  const v2 = await waitFor('v2 in the registry', () => inspect('pushed:v2').catch(() => undefined), 60_000, 500);
  assert.deepEqual(v2, await ours('v2'));
  await waitFor('latest moved to v2', async () => JSON.stringify(await inspect('pushed:latest')) === JSON.stringify(v2), 30_000, 500);
  assert.deepEqual((await inspect('pushed:v1')).layers.map((l) => l.digest), v1.layers.map((l) => l.digest), 'v1 stays');
});
