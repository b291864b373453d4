/**
 * Release images pushed to an external registry (SLIPWAY_IMAGE_PUSH_URL): Debian's `docker-registry` on loopback,
 * with htpasswd (Basic) auth. Once a release is current, the worker pushes its image as PATH/APP:vN and :latest; the
 * registry then serves the same manifest to `skopeo inspect`; the next release moves latest and leaves vN. Then the
 * same registry with token auth, as Docker Hub's: its token service here is a stand-in written for this test (the
 * real ones are on the internet), issuing the JWTs the registry itself verifies against the stand-in's certificate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
const cleanups: (() => Promise<unknown>)[] = [];

/** Debian's docker-registry on a free loopback port with this auth section; its address. */
async function startRegistry(root: string, auth: string): Promise<string> {
  const addr = `127.0.0.1:${await freePort()}`;
  await writeFile(join(root, 'config.yml'), [
    'version: 0.1', 'log: {level: error}', `storage: {filesystem: {rootdirectory: ${join(root, 'data')}}}`, `http: {addr: "${addr}"}`, `auth: ${auth}`, '',
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', join(root, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => (registryLog = (registryLog + d).slice(-4000))); // its 404s while polled are noise
  cleanups.push(async () => child.kill('SIGTERM'));
  registry = child;
  await waitFor('the registry to listen', async () => (await fetch(`http://${addr}/v2/`).catch(() => undefined))?.status === 401, 15_000, 100);
  return addr;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-registry-'));
  await writeFile(join(dir, 'htpasswd'), (await exec('htpasswd', ['-Bbn', 'pusher', PASSWORD])).stdout);
  at = await startRegistry(dir, `{htpasswd: {realm: test, path: ${join(dir, 'htpasswd')}}}`);
  t = await startTestPlatform({ SLIPWAY_IMAGE_PUSH_URL: `http://${at}/slipway`, SLIPWAY_IMAGE_PUSH_USER: 'pusher', SLIPWAY_IMAGE_PUSH_PASSWORD: PASSWORD });
});
after(async () => {
  await t?.close();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
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

/**
 * A stand-in for a registry's token service (Docker Hub's auth.docker.io): Basic credentials in, a JWT out, signed
 * with the key whose certificate the registry trusts (x5c), granting the actions asked for on the repository asked
 * for. Records the scopes it was asked for.
 */
async function startTokenService(keyPem: string, certPem: string, service: string, issuer: string): Promise<{ realm: string; scopes: string[] }> {
  const der = new X509Certificate(certPem).raw.toString('base64');
  const b64url = (x: string | Buffer) => Buffer.from(x).toString('base64url');
  const scopes: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Basic ${Buffer.from(`pusher:${PASSWORD}`).toString('base64')}`) return res.writeHead(401).end();
    const scope = url.searchParams.get('scope') ?? '';
    scopes.push(scope);
    const m = /^repository:([^:]+):([a-z,*]+)$/.exec(scope);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer, sub: 'pusher', aud: url.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(),
      access: m ? [{ type: 'repository', name: m[1], actions: m[2].split(',') }] : [],
    };
    const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der] }))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), keyPem))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, scopes };
}

test('when the registry wants a bearer token (Docker Hub\'s token auth), then the push gets one for the repository from its token service and the image is there', async () => {
  const root = await mkdtemp(join(tmpdir(), 'slipway-token-registry-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(root, 'key.pem'), '-out', join(root, 'cert.pem'), '-days', '1', '-subj', '/CN=token-service']);
  const tokens = await startTokenService(await readFile(join(root, 'key.pem'), 'utf8'), await readFile(join(root, 'cert.pem'), 'utf8'), 'test-registry', 'test-issuer');
  const addr = await startRegistry(root, `{token: {realm: "${tokens.realm}", service: test-registry, issuer: test-issuer, rootcertbundle: ${join(root, 'cert.pem')}}}`);
  const challenge = (await fetch(`http://${addr}/v2/`)).headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer realm="/, 'the registry asks for a bearer token');

  const p = await startTestPlatform({ SLIPWAY_IMAGE_PUSH_URL: `http://${addr}/team`, SLIPWAY_IMAGE_PUSH_USER: 'pusher', SLIPWAY_IMAGE_PUSH_PASSWORD: PASSWORD });
  cleanups.push(() => p.close());
  await p.createApp('tokened');
  const checkout = await p.checkout('procfile-shell', 'tokened');
  assert.equal((await p.git(checkout, ['push', 'slipway', 'main'])).code, 0);
  const look = async (ref: string) => JSON.parse((await exec('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `pusher:${PASSWORD}`, `docker://${addr}/team/${ref}`])).stdout) as { layers: { digest: string }[] };
  const v1 = await waitFor('v1 in the token registry', () => look('tokened:v1').catch(() => undefined), 60_000, 500).catch((e) => {
    throw new Error(`${(e as Error).message}; the registry's log ends:\n${registryLog.slice(-1500)}`);
  });
  const served = (await (await fetch(`${p.url}/v2/tokened/manifests/v1`, { headers: { authorization: `Bearer ${p.adminToken}` } })).json()) as { layers: unknown[] };
  assert.deepEqual(v1, served);
  assert.deepEqual(await look('tokened:latest'), v1);
  assert.ok(tokens.scopes.includes('repository:team/tokened:pull,push'), `Slipway asked for the repository's push scope: ${JSON.stringify(tokens.scopes)}`);
});
