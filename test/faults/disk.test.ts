/**
 * The host's disk, on a small filesystem this test mounts as the platform's data dir (a 4 GB ext4 image, loop
 * mounted): slugs past the last SLIPWAY_KEEP_RELEASES are removed (and a rollback to one says why it cannot be);
 * dyno scratch disks are never promised the reserve; once free space is below SLIPWAY_DISK_RESERVE_MB, pushes,
 * builds and source uploads are refused with a message saying so, the repos and the database keep working, and
 * everything works again once space is freed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { freeBytes } from '../../runner/sandbox/scratch-disk.js';
import { tailLog } from '../../server/logs/app-log.js';

const run = promisify(execFile);
const MB = 2 ** 20;
let t: TestPlatform;
let mountDir: string;
let image: string;

before(async () => {
  const base = await mkdtemp(join(tmpdir(), 'slipway-smalldisk-'));
  image = join(base, 'disk.img');
  mountDir = join(base, 'data');
  await run('truncate', ['-s', '4G', image]);
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  await run('mkdir', ['-p', mountDir]);
  await run('mount', ['-o', 'loop', image, mountDir]);
  t = await startTestPlatform({ SLIPWAY_DATA_DIR: mountDir, SLIPWAY_DISK_RESERVE_MB: '200', SLIPWAY_KEEP_RELEASES: '2' }, { dynos: true });
});
after(async () => {
  await t?.close();
  if (mountDir) await run('umount', ['-l', mountDir]).catch(() => undefined);
  if (image) await rm(join(image, '..'), { recursive: true, force: true });
});

const keptSlugs = async (app: string) => ((await t.api('GET', `/apps/${app}/disk-usage`)).body as { slugs: { count: number } }).slugs.count;

async function pushVersion(dir: string, n: number) {
  await writeFile(join(dir, 'VERSION'), `${n}\n`); // each push a different slug
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', `v${n}`]);
  return t.git(dir, ['push', 'slipway', 'main']);
}

test('when an app has more releases than the platform keeps, then old slugs are removed and a rollback to one says why', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'kept' })).status, 201);
  const dir = await t.checkout('procfile-shell', 'kept');
  for (let n = 1; n <= 4; n++) {
    const r = await pushVersion(dir, n);
    assert.equal(r.code, 0, r.out);
  }
  await waitFor('two slugs left', async () => (await keptSlugs('kept')) === 2, 20_000, 200);
  const old = await t.api('POST', '/apps/kept/releases', { release: '1' });
  assert.equal(old.status, 422);
  assert.match(old.body.message, /v1 cannot be rolled back to: its slug was removed by garbage collection.*SLIPWAY_KEEP_RELEASES/);
  const kept = await t.api('POST', '/apps/kept/releases', { release: '3' });
  assert.equal(kept.status, 201, JSON.stringify(kept.body));
  const releases = (await t.api('GET', '/apps/kept/releases')).body as { version: number }[];
  assert.ok(releases.some((r) => r.version === 1), 'the release history stays whole');
});

test('when dynos would be promised the reserve, then the one that does not fit is not started and its log says why', async () => {
  // Beside the running standard-1x dyno (1 GB promised), a performance-m one's 4 GB would eat into the reserve.
  const r = await t.api('PATCH', '/apps/kept/formation/web', { quantity: 1, size: 'performance-m' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const appId = (await t.api('GET', '/apps/kept')).body.id as string;
  await waitFor('the refusal in the log', async () => (await tailLog(t.platform.redis, t.platform.config.redisPrefix, appId, 100))
    .some((e) => /the host's disk is nearly full: .*SLIPWAY_DISK_RESERVE_MB.*performance-m dyno's disk needs 4096 MB/.test(e.line)), 30_000, 500);
  assert.equal((await t.api('PATCH', '/apps/kept/formation/web', { quantity: 1, size: 'standard-1x' })).status, 200);
  await waitFor('web up again', async () => ((await t.api('GET', '/apps/kept/dynos')).body as { state: string; size: string }[])
    .some((d) => d.state === 'up' && d.size === 'standard-1x'), 60_000, 250);
});

test('when free disk falls below the reserve, then pushes, builds and uploads are refused saying so; repos and the database still work; freeing space ends it', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'filler' })).status, 201);
  const dir = await t.checkout('procfile-shell', 'filler');
  const ballast = join(mountDir, 'ballast');
  const fh = await open(ballast, 'w');
  await fh.close();
  // Leave 150 MB: below the 200 MB reserve.
  await run('fallocate', ['-l', String(Math.max(0, (await freeBytes(mountDir)) - 150 * MB)), ballast]);
  try {
    const push = await pushVersion(dir, 1);
    assert.notEqual(push.code, 0);
    assert.match(push.out, /disk is nearly full: 1\d\d MB free, and the last 200 MB are kept .*SLIPWAY_DISK_RESERVE_MB\)\. A push is refused/);
    const build = await t.api('POST', '/apps/filler/builds', { source_blob: { url: 'https://example.invalid/x.tgz' } });
    assert.equal(build.status, 507);
    assert.equal(build.body.id, 'insufficient_storage');
    const upload = await t.api('POST', '/apps/filler/sources');
    assert.equal(upload.status, 507);
    assert.match(upload.body.message, /A source upload is refused/);
    // What must keep working does: the database (a config change is a release) and reading the repos.
    assert.equal((await t.api('PATCH', '/apps/kept/config-vars', { STILL: 'works' })).status, 200);
    const clone = await t.git(dir, ['ls-remote', 'slipway']);
    assert.equal(clone.code, 0, clone.out);
  } finally {
    await rm(ballast, { force: true });
  }
  const again = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(again.code, 0, again.out);
});
