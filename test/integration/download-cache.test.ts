import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
  const app = join(dir, 'app-downloads');
  const shared = join(dir, 'shared');
  await mkdir(app);
  await mkdir(shared);
  await run('curl', ['-fsSL', '--max-time', '120', '-o', join(app, genuine), '--', 'https://registry.npmjs.org/yarn/-/yarn-1.22.22.tgz']);
  await writeFile(join(app, 'npm-1.0.0.tgz'), 'not the published tarball');
  await writeFile(join(app, 'evil-script.sh'), 'echo not a tarball');
  const r = await promoteDownloads(app, shared, 'https://registry.npmjs.org/');
  assert.deepEqual(r.promoted, [genuine]);
  assert.deepEqual(r.rejected, ['npm-1.0.0.tgz']);
  assert.deepEqual((await readdir(shared)).sort(), [genuine]);
  assert.equal(existsSync(join(app, 'npm-1.0.0.tgz')), false, 'the tampered file is not kept for the app either');
});
