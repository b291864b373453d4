/**
 * A compiled /app split into layers by role (server/images/slug-layers.ts), with real tar and a blob store in a temp
 * dir: the roles, a tree already stored found again without packing, a runtime others cannot read kept in the app
 * layer, what a tenant's tree may not hold refused naming its own path, and the size limit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBlobStore, type BlobStore } from '../../server/images/blobs.js';
import { packSlugLayers, slugDigest } from '../../server/images/slug-layers.js';
import { SlugTooLargeError } from '../../buildpacks/slug.js';
import { TarRefused } from '../../runner/archive/tar-guard.js';

const run = promisify(execFile);
let root: string;
let blobs: BlobStore;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'slipway-slug-layers-'));
  blobs = createBlobStore(join(root, 'blobs'));
});
after(async () => rm(root, { recursive: true, force: true }));

/** A compiled /app with these files (path → content), modes 0644 unless given. */
async function appDir(files: Record<string, string | { content: string; mode: number }>): Promise<string> {
  const dir = join(root, `app-${++n}`);
  await mkdir(dir);
  for (const [path, f] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), typeof f === 'string' ? f : f.content);
    await chmod(join(dir, path), typeof f === 'string' ? 0o644 : f.mode);
  }
  return dir;
}

const pack = (dir: string, maxBytes = 50 << 20) => packSlugLayers({ appDir: dir, blobs, recordsDir: join(root, 'records'), maxBytes, unpackedMax: maxBytes * 8 });
const entries = async (digest: string) => (await run('tar', ['-tzf', blobs.path(digest)])).stdout.split('\n').filter(Boolean);

test('when an app has a runtime, dependencies and code, then they are three layers under ./app, and the same trees again are not packed', async () => {
  const files = { '.heroku/node/bin/node': 'node', 'node_modules/ms/index.js': 'ms', 'Procfile': 'web: node server.js\n', 'server.js': 'x' };
  const first = await pack(await appDir(files));
  assert.deepEqual(first.layers.map((l) => l.role), ['runtime', 'dependencies', 'app']);
  assert.deepEqual(first.reused, []);
  assert.equal(first.digest, slugDigest(first.layers));
  assert.ok((await entries(first.layers[0].digest)).includes('./app/.heroku/node/bin/node'));
  const app = await entries(first.layers[2].digest);
  assert.ok(app.includes('./app/Procfile'));
  assert.ok(!app.some((e) => e.includes('.heroku') || e.includes('node_modules')), app.join(' '));

  const again = await pack(await appDir({ ...files, 'server.js': 'changed' }));
  assert.deepEqual(again.reused, ['runtime', 'dependencies']);
  assert.equal(again.layers[0].digest, first.layers[0].digest);
  assert.equal(again.layers[1].digest, first.layers[1].digest);
  assert.notEqual(again.layers[2].digest, first.layers[2].digest);
});

test('when the runtime has a file others may not read, then it is not shared: it stays in the app layer', async () => {
  const packed = await pack(await appDir({ '.heroku/python/secret': { content: 's', mode: 0o600 }, 'app.py': 'x' }));
  assert.deepEqual(packed.layers.map((l) => l.role), ['app']);
  assert.ok((await entries(packed.layers[0].digest)).includes('./app/.heroku/python/secret'));
});

test('when the compiled app holds a FIFO or is over the limit, then packing fails naming the path as the app has it, or the limit', async () => {
  const dir = await appDir({ 'index.html': 'x' });
  await run('mkfifo', [join(dir, 'pipe')]);
  await assert.rejects(pack(dir), (e: Error) => e instanceof TarRefused && /holds a FIFO \(named pipe\) at "\.\/pipe"/.test(e.message));
  const big = await appDir({ 'data.bin': 'x'.repeat(64 << 10) });
  await run('dd', ['if=/dev/urandom', `of=${join(big, 'data.bin')}`, 'bs=1024', 'count=256'], {});
  await assert.rejects(pack(big, 100 << 10), (e: Error) => e instanceof SlugTooLargeError && /^The slug is over the \d+ MB limit\.$/.test(e.message));
});
