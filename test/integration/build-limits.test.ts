/**
 * Build limits on a platform configured small: memory, time, disk, build cache, slug size and push size each stop a
 * build with a message.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_BUILD_MEMORY_MB: '96', SLIPWAY_BUILD_TIMEOUT: '4', SLIPWAY_MAX_SLUG_MB: '1', SLIPWAY_MAX_PUSH_MB: '2',
    SLIPWAY_BUILD_DISK_MB: '64', SLIPWAY_BUILD_CACHE_MB: '64' });
  await chmod(t.dataDir, 0o755);
});
after(async () => t?.close());

/** An app whose only buildpack runs `script` as bin/compile. */
async function probeApp(app: string, script: string): Promise<string> {
  const bp = join(t.buildpackDir, `bp-${app}`);
  await mkdir(join(bp, 'bin'), { recursive: true });
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho Probe\n');
  await writeFile(join(bp, 'bin', 'compile'), `#!/bin/sh\n${script}\necho "web: true" > "$1/Procfile"\n`);
  for (const f of ['detect', 'compile']) await chmod(join(bp, 'bin', f), 0o755);
  await chmod(bp, 0o755);
  assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
  const dir = await t.checkout('no-buildpack', app);
  await writeFile(join(dir, '.buildpacks'), bp + '\n');
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'probe']);
  return dir;
}

test('when a build goes past its memory limit, then it is stopped with a message naming the memory limit', async () => {
  const dir = await probeApp('hungry', `set -e\npython3 -c "b = [bytearray(8 << 20) for _ in range(64)]"`);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /The build ran out of memory and was stopped/);
});

test('when a build runs past the build timeout, then it is killed with a message', async () => {
  const started = Date.now();
  const dir = await probeApp('sleepy', 'echo "going to sleep"; sleep 120');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /going to sleep/);
  assert.match(push.out, /Build timed out/);
  assert.ok(Date.now() - started < 30_000, 'killed at the timeout, not at the end of the sleep');
});

test('when the slug is over the size cap, then the build fails naming the limit', async () => {
  const dir = await probeApp('bulky', 'head -c 3000000 /dev/urandom > "$1/blob.bin"');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /The slug is over the 1 MB limit/);
  assert.deepEqual((await t.api('GET', '/apps/bulky/releases')).body, []);
});

test('when a push is larger than the push size cap, then git refuses it and nothing is built', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'huge-push' })).status, 201);
  const dir = await t.checkout('procfile-shell', 'huge-push');
  await writeFile(join(dir, 'big.bin'), randomBytes(3 * 1024 * 1024));
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'big']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /exceeds maximum allowed size|pack exceeds/i);
  assert.deepEqual((await t.api('GET', '/apps/huge-push/builds')).body, []);
});

test('when a build writes more than its disk holds, then it gets ENOSPC and the push says which disk and setting', async () => {
  const dir = await probeApp('spacey', 'dd if=/dev/zero of="$1/big" bs=1M count=100 2>&1 | grep -o "No space left on device"; exit 1');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /No space left on device/);
  assert.match(push.out, /The build filled its 6\d MB disk \(SLIPWAY_BUILD_DISK_MB\)/);
});

test('when a build fills its cache, then the push says so and the next build starts with an empty cache', async () => {
  const dir = await probeApp('hoarder', 'test -f "$2/marker" && echo cache-kept; touch "$2/marker"; dd if=/dev/zero of="$2/big" bs=1M count=100 2>&1 | tail -1; exit 1');
  const first = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(first.code, 0);
  assert.match(first.out, /The build filled its 6\d MB build cache \(SLIPWAY_BUILD_CACHE_MB\); the cache is cleared/);
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'again']);
  const second = await t.git(dir, ['push', 'slipway', 'main']);
  assert.doesNotMatch(second.out, /cache-kept/, 'the full cache was dropped');
});
