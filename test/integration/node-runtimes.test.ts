/**
 * The Node versions a user gets without asking for one, and the newest: each must answer through the router (the
 * node binary's libraries are the run stack's, not only the build stack's). And the check that makes a missing
 * library a build error instead of a crash at boot, tried with an executable that needs what the run stack lacks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { createRunStackCheck, describeRunStackProblems } from '../../runner/build/run-stack-check.js';
import { stackPath } from '../../runner/sandbox/stack.js';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({}, { dynos: true });
});
after(async () => t?.close());

async function serves(app: string) {
  await waitFor(`${app} answering`, async () => (await t.get(app).catch(() => ({ status: 0 }))).status === 200, 60_000, 250);
}

test('when a Node app names no engines, then the newest LTS is installed and the app answers through the router', { timeout: 300_000 }, async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'node-default' })).status, 201);
  const dir = await t.checkout('node-default', 'node-default');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /engines\.node not set in package\.json: using the newest LTS/);
  assert.match(push.out, /Verifying deploy\.\.\. done/);
  await serves('node-default');
});

test('when a Node app asks for the newest node there is, then it answers through the router too', { timeout: 300_000 }, async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'node-newest' })).status, 201);
  const dir = await t.checkout('node-default', 'node-newest');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'node-newest', private: true, engines: { node: '*' }, scripts: { start: 'node server.js' } }));
  await t.git(dir, ['commit', '-qam', 'newest node']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Installing node (2[4-9]|[3-9]\d)\.\d+\.\d+/);
  await serves('node-newest');
});

test('when a build installs an executable needing a library the run stack lacks, then the check names both', async () => {
  const c = t.platform.config;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-runstack-'));
  try {
    // The C++ compiler proper, from the build stack: it links libmpc, which dynos have no use for.
    await mkdir(join(dir, 'app', '.heroku', 'gcc', 'bin'), { recursive: true });
    await copyFile(join(stackPath(c.stacksDir, 'build'), 'usr/lib/gcc/x86_64-linux-gnu/12/cc1plus'), join(dir, 'app', '.heroku', 'gcc', 'bin', 'cc1plus'));
    await writeFile(join(dir, 'app', '.heroku', 'gcc', 'bin', 'script'), '#!/bin/sh\necho not an ELF file\n', { mode: 0o755 });
    const check = createRunStackCheck({ runc: createRunc({ root: join(dir, 'runc'), bundles: join(dir, 'bundles') }), rootfs: stackPath(c.stacksDir, 'run') });
    const problems = await check(join(dir, 'app'), { app: 'checked', buildId: '0123abcd', uid: 100_000 });
    assert.ok(problems.some((p) => p.file === '.heroku/gcc/bin/cc1plus' && /^libmpc\.so/.test(p.library)), JSON.stringify(problems));
    assert.match(describeRunStackProblems(problems), /^\.heroku\/gcc\/bin\/cc1plus needs libmpc\.so\.3, which the run stack does not have\.$/m);
    assert.ok(!problems.some((p) => p.file.endsWith('/script')), 'a script is not an ELF executable');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
