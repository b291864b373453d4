import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { startNetnsGitServer } from '../helpers/git-netns.js';
import { slugEntries, type SlugBody } from '../helpers/slugs.js';
import { slugDigest } from '../../server/images/slug-layers.js';
import { waitFor } from '../helpers/procs.js';

const run = promisify(execFile);
let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
});
after(async () => t?.close());

const head = async (dir: string) => (await t.git(dir, ['rev-parse', 'HEAD'])).out.trim();
const remoteRef = async (dir: string) => (await t.git(dir, ['ls-remote', 'slipway', 'refs/heads/main'])).out.trim().split(/\s/)[0] ?? '';
const slugFiles = (slug: SlugBody) => slugEntries(t.dataDir, slug);

test('when a Procfile-only app is pushed, then the build streams as remote: lines and makes release v1 with its slug', async () => {
  await t.createApp('shell-app');
  const dir = await t.checkout('procfile-shell', 'shell-app');
  const sha = await head(dir);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /remote: -----> Procfile app detected/);
  assert.match(push.out, /remote: +Procfile declares types -> web, worker/);
  assert.match(push.out, /remote: +Released v1/);
  assert.match(push.out, /remote: +http:\/\/shell-app\.localhost:8080\/ deployed to Slipway/);
  assert.equal(await remoteRef(dir), sha);
  const sizeOf = async () => Number((await t.api('GET', '/apps/shell-app')).body.repo_size);
  await waitFor('the repo size measured after the push', async () => (await sizeOf()) > 0, 5000, 50);

  const releases = (await t.api('GET', '/apps/shell-app/releases')).body;
  assert.equal(releases.length, 1);
  assert.equal(releases[0].version, 1);
  assert.equal(releases[0].description, `Deploy ${sha.slice(0, 7)}`);
  assert.equal(releases[0].status, 'succeeded');
  assert.equal(releases[0].current, true);
  assert.equal(releases[0].user.email, 'admin@example.com');

  const builds = (await t.api('GET', '/apps/shell-app/builds')).body;
  assert.equal(builds.length, 1);
  assert.equal(builds[0].status, 'succeeded');
  assert.equal(builds[0].source_blob.version, sha);
  assert.deepEqual(builds[0].buildpacks, [{ name: 'Procfile', url: 'slipway/procfile' }]);
  assert.equal(builds[0].release.version, 1);
  const output = await fetch(t.url + new URL(builds[0].output_stream_url).pathname, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.match(await output.text(), /-----> Procfile app detected[\s\S]*Released v1/);

  const slug = (await t.api('GET', `/apps/shell-app/slugs/${releases[0].slug.id}`)).body;
  assert.deepEqual(slug.process_types, { web: 'python3 -m http.server $PORT', worker: 'sh -c "while true; do echo tick; sleep 5; done"' });
  // Made as layers: no runtime or dependencies here, so one, the app; each stored under its digest.
  assert.deepEqual(slug.layers.map((l: { role: string }) => l.role), ['app']);
  assert.equal(slug.checksum, `SHA256:${slugDigest(slug.layers)}`);
  for (const l of slug.layers as { digest: string; size: number }[]) {
    const bytes = await readFile(join(t.dataDir, 'images', 'blobs', 'sha256', l.digest.slice(7)));
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, l.digest);
    assert.equal(bytes.length, l.size);
  }
  assert.equal(slug.size, slug.layers.reduce((n: number, l: { size: number }) => n + l.size, 0));
  assert.ok((await slugFiles(slug)).includes('./Procfile'));
  assert.equal((await t.api('GET', '/apps/shell-app/releases/v1')).body.id, releases[0].id);
  assert.equal((await t.api('GET', '/apps/shell-app/releases/1')).body.id, releases[0].id);
});

test('when a branch other than main or master is pushed, then it is refused with a message and no ref is made', async () => {
  await t.createApp('branchy');
  const dir = await t.checkout('procfile-shell', 'branchy');
  const push = await t.git(dir, ['push', 'slipway', 'main:feature']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /remote: +!\s+Pushing to branch feature is not supported: Slipway deploys main or master/);
  assert.equal((await t.git(dir, ['ls-remote', 'slipway'])).out.trim(), '');
  const master = await t.git(dir, ['push', 'slipway', 'main:master']);
  assert.equal(master.code, 0, master.out);
  assert.match(master.out, /Released v1/);
});

test('when a build fails, then the push is rejected, the ref and the running release stay, and pushing the same commit retries', async () => {
  await t.createApp('flaky');
  const good = await t.checkout('procfile-shell', 'flaky');
  assert.equal((await t.git(good, ['push', 'slipway', 'main'])).code, 0);
  const goodSha = await head(good);

  const dir = await t.checkout('bad-procfile', 'flaky');
  const push = await t.git(dir, ['push', '--force', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /remote: +!\s+Procfile line 2: "Web Server" is not a valid process type/);
  assert.match(push.out, /pre-receive hook declined/);
  assert.equal(await remoteRef(dir), goodSha, 'ref unchanged');
  const releases = (await t.api('GET', '/apps/flaky/releases')).body;
  assert.deepEqual(releases.map((r: { version: number; current: boolean }) => [r.version, r.current]), [[1, true]]);

  const again = await t.git(dir, ['push', '--force', 'slipway', 'main']);
  assert.notEqual(again.code, 0);
  assert.match(again.out, /not a valid process type/, 'the same commit is built again, not "Everything up-to-date"');
  const builds = (await t.api('GET', '/apps/flaky/builds')).body;
  assert.deepEqual(builds.map((b: { status: string }) => b.status), ['succeeded', 'failed', 'failed']);
  assert.match(builds[1].error, /not a valid process type/);
});

test('when no buildpack fits, then the push is rejected listing what was tried', async () => {
  await t.createApp('mystery');
  const dir = await t.checkout('no-buildpack', 'mystery');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  for (const what of ['No buildpack detected', 'Node.js \\(package.json\\)', 'Python \\(requirements.txt', 'Static \\(index.html', 'Procfile \\(a Procfile alone\\)']) {
    assert.match(push.out, new RegExp(what));
  }
});

test('when a static site is pushed, then the slug carries the static server as its web process', async () => {
  await t.createApp('site');
  const dir = await t.checkout('static-site', 'site');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Static app detected/);
  const release = (await t.api('GET', '/apps/site/releases/v1')).body;
  assert.deepEqual(release.process_types, { web: 'python3 /app/.slipway/static-server.py' });
  const slug = (await t.api('GET', `/apps/site/slugs/${release.slug.id}`)).body;
  const files = await slugFiles(slug);
  assert.ok(files.includes('./.slipway/static-server.py'));
  assert.ok(files.includes('./index.html'));
});

test('when a stdlib Python app is pushed, then nothing is installed and its Procfile types are kept', async () => {
  await t.createApp('py-app');
  const dir = await t.checkout('python-stdlib', 'py-app');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Python app detected/);
  assert.match(push.out, /No requirements to install/);
  assert.deepEqual((await t.api('GET', '/apps/py-app/releases/v1')).body.process_types, { web: 'python3 app.py', worker: 'python3 worker.py' });
});

test('when ten pushes to one app race, then they take turns: a push from a moved branch is refused before building, and each landed push is its own gapless version', { timeout: 300_000 }, async () => {
  await t.createApp('racer');
  const base = await t.checkout('procfile-shell', 'racer');
  assert.equal((await t.git(base, ['push', 'slipway', 'main'])).code, 0);
  const dirs: string[] = [];
  for (let i = 0; i < 10; i++) {
    const d = `${base}-racer-${i}`;
    await cp(base, d, { recursive: true });
    assert.equal((await t.git(d, ['commit', '-q', '--allow-empty', '-m', `change ${i}`])).code, 0);
    dirs.push(d);
  }
  // Ten developers push at once; whoever is refused pulls and pushes again, as git tells them to.
  const outcomes = { landed: [] as number[], refused: 0 };
  await Promise.all(dirs.map(async (d) => {
    for (let attempt = 0; attempt < 15; attempt++) {
      const p = await t.git(d, ['push', 'slipway', 'main']);
      if (p.code === 0) {
        outcomes.landed.push(Number(/Released v(\d+)/.exec(p.out)?.[1]));
        return;
      }
      assert.match(p.out, /main moved while this push was on its way: another push to racer landed first/, p.out);
      assert.doesNotMatch(p.out, /Building source|Released/, 'a refused push builds nothing');
      outcomes.refused++;
      const pulled = await t.git(d, ['pull', '-q', '--rebase', 'slipway', 'main']);
      assert.equal(pulled.code, 0, pulled.out);
    }
    assert.fail(`${d} never landed`);
  }));
  assert.ok(outcomes.refused >= 9, `pushes from a moved branch were refused (${outcomes.refused})`);
  assert.deepEqual(outcomes.landed.sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'each landed push was told its own version');
  const releases = (await t.api('GET', '/apps/racer/releases')).body as { version: number; description: string }[];
  assert.deepEqual(releases.map((r) => r.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const builds = (await t.api('GET', '/apps/racer/builds')).body as { status: string }[];
  assert.deepEqual(builds.map((b) => b.status), Array(11).fill('succeeded'), 'nothing built for a refused push');
  // Every release is of a commit on the branch, the last one of its tip; every change is in the history.
  const repo = join(t.dataDir, 'repos', 'racer.git');
  const history = (await t.git(t.dataDir, ['--git-dir', repo, 'log', '--format=%h %s', 'main'])).out;
  for (const r of releases) assert.ok(history.includes(r.description.replace('Deploy ', '')), `${r.description} is on main:\n${history}`);
  for (let i = 0; i < 10; i++) assert.match(history, new RegExp(`change ${i}$`, 'm'));
  const tip = (await t.git(t.dataDir, ['--git-dir', repo, 'rev-parse', '--short=7', 'main'])).out.trim();
  assert.equal(releases.at(-1)!.description, `Deploy ${tip}`);
  const fsck = await t.git(t.dataDir, ['--git-dir', repo, 'fsck', '--strict', '--no-progress']);
  assert.equal(fsck.code, 0, fsck.out);
});

test('when requirements.txt cannot be installed because the package index is unreachable, then the error says so', async () => {
  await t.createApp('py-deps');
  // An index on a closed loopback port: unreachable, and no traffic leaves the machine.
  const app = (await t.api('GET', '/apps/py-deps')).body;
  await t.platform.db.query(`INSERT INTO config_vars (app_id, key, value) VALUES ($1, 'PIP_INDEX_URL', 'http://127.0.0.1:9/simple')`, [app.id]);
  const dir = await t.checkout('python-deps', 'py-deps');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /Installing requirements with pip/);
  assert.match(push.out, /The Python package index \(http:\/\/127\.0\.0\.1:9\/simple\) cannot be reached from this platform/);
});

test('when a CI system uploads a tarball and asks for a build, then it builds and releases like a push', async () => {
  await t.createApp('from-tar');
  const src = await t.api('POST', '/apps/from-tar/sources');
  assert.equal(src.status, 201);
  const { put_url: putUrl, get_url: getUrl } = src.body.source_blob;
  // A tarball with one top-level directory, as `git archive --prefix` and most CI systems make them.
  const tgz = join(t.dataDir, 'site.tgz');
  await run('tar', ['-czf', tgz, '--transform', 's,^static-site,site-1.0,', '-C', FIXTURES, 'static-site']);
  const noAuth = await fetch(putUrl.replace(/^http:\/\/[^/]+/, t.url), { method: 'PUT', body: await readFile(tgz) });
  assert.equal(noAuth.status, 401);
  const put = await fetch(putUrl.replace(/^http:\/\/[^/]+/, t.url), { method: 'PUT', body: await readFile(tgz), headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' } });
  assert.equal(put.status, 200);

  const bad = await t.api('POST', '/apps/from-tar/builds', { source_blob: { url: 'http://example.com/evil.tgz' } });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /must be a source uploaded to this platform/);
  const build = await t.api('POST', '/apps/from-tar/builds', { source_blob: { url: getUrl, version: 'ci-42' } });
  assert.equal(build.status, 201, JSON.stringify(build.body));
  assert.equal(build.body.status, 'pending');
  const log = await fetch(t.url + new URL(build.body.output_stream_url).pathname, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.match(await log.text(), /Static app detected[\s\S]*Released v1/);
  const done = (await t.api('GET', `/apps/from-tar/builds/${build.body.id}`)).body;
  assert.equal(done.status, 'succeeded');
  assert.equal(done.source_blob.version, 'ci-42');
  assert.equal((await t.api('GET', '/apps/from-tar/releases/v1')).body.description, 'Deploy ci-42');
});

test('when a build runs, then it is inside a build container: the app\'s own uid, no capabilities, read-only stack, and the host unreachable', async () => {
  // A listener on every host interface: a build reaching the host (through the bridge gateway) would get in.
  const { createServer } = await import('node:net');
  const listener = createServer((s) => s.end('reached the host\n'));
  await new Promise<void>((r) => listener.listen(0, '0.0.0.0', () => r()));
  const port = (listener.address() as { port: number }).port;
  const gateway = t.platform.config.subnet.replace(/\.\d+\/\d+$/, '.1');
  const bp = join(t.buildpackDir, 'probe-buildpack');
  await run('mkdir', ['-p', join(bp, 'bin')]);
  const { writeFile, chmod } = await import('node:fs/promises');
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho Probe\n');
  await writeFile(join(bp, 'bin', 'compile'), [
    '#!/bin/sh',
    'echo "uid=$(id -u) host=$(hostname) build_dir=$1"',
    'grep -E "^CapEff" /proc/self/status',
    'touch /usr/probe 2>/dev/null && echo stack-writable || echo stack-read-only',
    'touch /tmp/downloads/planted.tgz 2>/dev/null && echo downloads-writable || echo downloads-read-only',
    'python3 "$(dirname "$0")/probe.py"',
    'echo "web: true" > "$1/Procfile"',
  ].join('\n') + '\n');
  await writeFile(join(bp, 'bin', 'probe.py'), [
    'import socket',
    's = socket.socket()',
    's.settimeout(2)',
    'try:',
    `    s.connect(('${gateway}', ${port}))`,
    "    print('host reachable', s.recv(100))",
    'except Exception:',
    "    print('host unreachable')",
  ].join('\n') + '\n');
  for (const f of ['detect', 'compile', 'probe.py']) await chmod(join(bp, 'bin', f), 0o755);
  await chmod(bp, 0o755);
  await chmod(t.dataDir, 0o755);

  await t.createApp('probed');
  const dir = await t.checkout('no-buildpack', 'probed');
  await writeFile(join(dir, '.buildpacks'), bp + '\n');
  await t.git(dir, ['add', '-A']);
  await t.git(dir, ['commit', '-q', '-m', 'probe']);
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  listener.close();
  assert.equal(push.code, 0, push.out);
  const uid = (await t.platform.db.query<{ uid: number }>(`SELECT uid FROM apps WHERE name = 'probed'`)).rows[0].uid;
  assert.ok(uid >= 100000);
  assert.match(push.out, new RegExp(`remote: uid=${uid} host=build build_dir=/tmp/build`));
  assert.match(push.out, /remote: CapEff:\s+0000000000000000/);
  assert.match(push.out, /remote: stack-read-only/);
  assert.match(push.out, /remote: downloads-read-only/, 'a build cannot plant files in the machine-wide download cache');
  assert.match(push.out, /remote: host unreachable/);
  assert.doesNotMatch(push.out, /reached the host|host reachable/);
});

test('when the Procfile has a release command, then it runs once in a one-off container before the release counts', async () => {
  await t.createApp('migrator');
  const dir = await t.checkout('release-phase', 'migrator');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /remote: -----> Running release command\.\.\./);
  const uid = (await t.platform.db.query<{ uid: number }>(`SELECT uid FROM apps WHERE name = 'migrator'`)).rows[0].uid;
  assert.match(push.out, new RegExp(`remote: +migrating as uid ${uid} in release\\.1 for v1, HOME=/app`));
  assert.match(push.out, /remote: +app dir writable/);
  assert.match(push.out, /Released v1/);
  assert.equal((await t.api('GET', '/apps/migrator/releases/v1')).body.status, 'succeeded');
});

test('when config changes come faster than their release phases, then the release phases run one at a time, in turn', async () => {
  await t.createApp('turns');
  const dir = await t.checkout('release-slow', 'turns');
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0);
  // Two config changes at once: two releases, each with its release phase (a migration each, on one database).
  const changes = await Promise.all([t.api('PATCH', '/apps/turns/config-vars', { A: '1' }), t.api('PATCH', '/apps/turns/config-vars', { B: '2' })]);
  assert.deepEqual(changes.map((c) => c.status), [200, 200]);
  const spans = [];
  for (const v of [2, 3]) {
    const r = await waitFor(`v${v} released`, async () => { const got = (await t.api('GET', `/apps/turns/releases/v${v}`)).body; return got.status === 'succeeded' && got; }, 30_000, 200);
    const url = new URL(r.output_stream_url);
    const out = await (await fetch(t.url + url.pathname + url.search)).text();
    const [, from] = /release phase of v\d+ from (\d+)/.exec(out) ?? [];
    const [, to] = /release phase of v\d+ to (\d+)/.exec(out) ?? [];
    assert.ok(from && to, out);
    spans.push([BigInt(from), BigInt(to)]);
  }
  const [a, b] = spans.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  assert.ok(a[1] <= b[0], `the second release phase started ${Number(a[1] - b[0]) / 1e6} ms before the first ended`);
});

test('when the release command fails, then the release is kept as failed, the push is rejected and the old release stays current', async () => {
  await t.createApp('bad-migration');
  const good = await t.checkout('procfile-shell', 'bad-migration');
  assert.equal((await t.git(good, ['push', 'slipway', 'main'])).code, 0);
  const goodSha = (await t.git(good, ['rev-parse', 'HEAD'])).out.trim();
  const dir = await t.checkout('failing-release', 'bad-migration');
  const push = await t.git(dir, ['push', '--force', 'slipway', 'main']);
  assert.notEqual(push.code, 0);
  assert.match(push.out, /remote: +migration failed: database is locked/);
  assert.match(push.out, /Release v2 failed: The release command exited with status 4/);
  assert.equal(await remoteRef(dir), goodSha);
  const releases = (await t.api('GET', '/apps/bad-migration/releases')).body;
  assert.deepEqual(releases.map((r: { version: number; status: string; current: boolean }) => [r.version, r.status, r.current]), [[1, 'succeeded', true], [2, 'failed', false]]);
});

test('when the worker of a build died after starting it, then the build is marked failed with a message and the next push works', async () => {
  await t.createApp('orphaned');
  const app = (await t.api('GET', '/apps/orphaned')).body;
  const svc = t.platform.services;
  const build = await svc.builds.create({ ...app, stack: 'bookworm' }, null, 'f'.repeat(40));
  assert.equal(await svc.builds.start(build.id), true); // the dead worker got this far
  // BullMQ hands a stalled job to another worker: the same job arrives again.
  const { createQueue } = await import('../../server/queue.js');
  const queue = createQueue(t.platform.config.redisUrl!, t.platform.config.redisPrefix, 'builds');
  await queue.add('build', { buildId: build.id }, { jobId: `${build.id}-again` });
  await queue.close();
  const { createRedisBuildLog } = await import('../../server/builds/build-log.js');
  const lines: string[] = [];
  const result = await createRedisBuildLog(t.platform.redis, t.platform.config.redisPrefix).follow(build.id, (l) => lines.push(l));
  assert.equal(result?.status, 'failed');
  assert.match(lines.join('\n'), /The worker running this build stopped before it finished\. Push again to retry\./);
  assert.equal((await t.api('GET', `/apps/orphaned/builds/${build.id}`)).body.status, 'failed');
  const dir = await t.checkout('procfile-shell', 'orphaned');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Released v1/);
});

test('when the BUILDPACK_URL config var names a buildpack, then it is used instead of detection', async () => {
  const bp = join(t.buildpackDir, 'named-buildpack');
  const { mkdir, writeFile, chmod } = await import('node:fs/promises');
  await mkdir(join(bp, 'bin'), { recursive: true });
  await writeFile(join(bp, 'bin', 'detect'), '#!/bin/sh\necho "Named"\n');
  await writeFile(join(bp, 'bin', 'compile'), '#!/bin/sh\necho "named buildpack compiling, GREETING=$(cat "$3/GREETING")"\n');
  await writeFile(join(bp, 'bin', 'release'), '#!/bin/sh\nprintf -- "---\\ndefault_process_types:\\n  web: echo named\\n"\n');
  for (const f of ['detect', 'compile', 'release']) await chmod(join(bp, 'bin', f), 0o755);
  await chmod(bp, 0o755);
  await chmod(t.dataDir, 0o755);
  await t.createApp('named-bp');
  const app = (await t.api('GET', '/apps/named-bp')).body;
  await t.platform.db.query(`INSERT INTO config_vars (app_id, key, value) VALUES ($1, 'BUILDPACK_URL', $2), ($1, 'GREETING', 'hi there')`, [app.id, bp]);
  const dir = await t.checkout('static-site', 'named-bp'); // would be detected as static
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /-----> Named app detected/);
  assert.match(push.out, /named buildpack compiling, GREETING=hi there/);
  assert.doesNotMatch(push.out, /Static app detected/);
  const release = (await t.api('GET', '/apps/named-bp/releases/v1')).body;
  assert.deepEqual(release.process_types, { web: 'echo named' });
  const build = (await t.api('GET', '/apps/named-bp/builds')).body[0];
  assert.deepEqual(build.buildpacks, [{ name: 'Named', url: bp }]);
});

test('when a release is listed, then its output_stream_url can be read without a token for a while, and an altered one is refused', async () => {
  await t.createApp('outputs');
  const push = await t.git(await t.checkout('procfile-shell', 'outputs'), ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  const url = new URL((await t.api('GET', '/apps/outputs/releases/v1')).body.output_stream_url);
  assert.match(url.pathname, /^\/release-output\/outputs\/[0-9a-f-]{36}$/);
  const read = await fetch(t.url + url.pathname + url.search);
  assert.equal(read.status, 200);
  assert.match(await read.text(), /Launching|Released v1|Verifying/);
  const forged = new URL(url);
  forged.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
  assert.equal((await fetch(t.url + forged.pathname + forged.search)).status, 404);
  assert.equal((await fetch(t.url + url.pathname)).status, 404, 'unsigned');
});

test('when an app has buildpacks set (buildpack installations), then they are used before BUILDPACK_URL, and a bad one is a 422 naming it', async () => {
  await t.createApp('installed-bp');
  const app = (await t.api('GET', '/apps/installed-bp')).body;
  await t.platform.db.query(`INSERT INTO config_vars (app_id, key, value) VALUES ($1, 'BUILDPACK_URL', 'heroku/nodejs')`, [app.id]);
  const bad = await t.api('PUT', '/apps/installed-bp/buildpack-installations', { updates: [{ buildpack: 'heroku/procfile' }, { buildpack: 'ftp://x/y' }] });
  assert.equal(bad.status, 422);
  assert.match(bad.body.message, /Buildpack 2: ftp:\/\/x\/y is not a buildpack/);
  const set = await t.api('PUT', '/apps/installed-bp/buildpack-installations', { updates: [{ buildpack: 'urn:buildpack:heroku/static' }] });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.deepEqual(set.body, [{ ordinal: 0, buildpack: { url: 'urn:buildpack:heroku/static', name: 'heroku/static' } }]);
  assert.deepEqual((await t.api('GET', '/apps/installed-bp/buildpack-installations')).body, set.body);
  const dir = await t.checkout('static-site', 'installed-bp');
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  assert.match(push.out, /Static app detected/, 'the installed buildpack, not BUILDPACK_URL\'s nodejs');
});

test('when .buildpacks names a git URL with credentials, then it is cloned inside a build container, the credentials never in argv, the log or the API', async () => {
  const { mkdir, writeFile, chmod, readdir, readFile } = await import('node:fs/promises');
  const work = join(t.dataDir, 'bp-work');
  await mkdir(join(work, 'bin'), { recursive: true });
  await writeFile(join(work, 'bin', 'detect'), '#!/bin/sh\necho "From Git"\n');
  await writeFile(join(work, 'bin', 'compile'), '#!/bin/sh\necho "compiled by a buildpack fetched with git"\necho "web: true" > "$1/Procfile"\n');
  for (const f of ['detect', 'compile']) await chmod(join(work, 'bin', f), 0o755);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'buildpack']]) assert.equal((await t.git(work, args)).code, 0);
  const repos = join(t.dataDir, 'bp-repos');
  await mkdir(repos);
  assert.equal((await t.git(t.dataDir, ['clone', '-q', '--bare', work, join(repos, 'bp.git')])).code, 0);
  const secret = 's3cret-Token-' + Date.now().toString(36);
  const server = await startNetnsGitServer(repos, `bp-user:${secret}`);
  try {
    await t.createApp('git-bp');
    const dir = await t.checkout('no-buildpack', 'git-bp');
    const bpUrl = server.url('bp').replace('http://', `http://bp-user:${secret}@`);
    await writeFile(join(dir, '.buildpacks'), `# one buildpack per line\n${bpUrl}#main\n`);
    await t.git(dir, ['add', '-A']);
    await t.git(dir, ['commit', '-q', '-m', 'use a git buildpack']);
    const pushing = t.git(dir, ['push', 'slipway', 'main']);
    // While git in the build container waits on the server, no process on the machine has the secret in its argv.
    await server.held;
    const inArgv: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(secret)) inArgv.push(cmdline.replace(/\0/g, ' '));
    }
    server.release();
    const push = await pushing;
    assert.deepEqual(inArgv, [], 'the credentials are in no process\'s argv');
    assert.equal(push.code, 0, push.out);
    assert.match(push.out, /From Git app detected/);
    assert.match(push.out, /compiled by a buildpack fetched with git/);
    assert.ok(!push.out.includes(secret), 'the build log never shows the credentials');
    assert.ok(server.requests.some((r) => r.user === 'bp-user' && r.password === secret), 'git authenticated with them (through GIT_ASKPASS)');
    const build = (await t.api('GET', '/apps/git-bp/builds')).body[0];
    assert.equal(build.buildpacks[0].url, `${server.url('bp').replace('http://', 'http://***@')}#main`);

    const missing = await t.createApp('git-bp-missing').then(() => t.checkout('no-buildpack', 'git-bp-missing'));
    await writeFile(join(missing, '.buildpacks'), `${server.url('nope')}\nfile:///etc\n`);
    await t.git(missing, ['add', '-A']);
    await t.git(missing, ['commit', '-q', '-m', 'bad buildpack']);
    const bad = await t.git(missing, ['push', 'slipway', 'main']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /Could not fetch buildpack "http:\/\/198\.19\.\d+\.2\/nope\.git"/);
    await writeFile(join(missing, '.buildpacks'), 'file:///etc\n');
    await t.git(missing, ['commit', '-qam', 'a local repo']);
    const local = await t.git(missing, ['push', 'slipway', 'main']);
    assert.notEqual(local.code, 0);
    assert.match(local.out, /file:\/\/ URLs are not allowed/);
  } finally {
    await server.stop();
  }
});

test('when config vars change, then each change is a release of the same slug with the new config, and rollback restores slug and config', async () => {
  await t.createApp('configured');
  const dir = await t.checkout('procfile-shell', 'configured');
  assert.equal((await t.git(dir, ['push', 'slipway', 'main'])).code, 0);
  const v1 = (await t.api('GET', '/apps/configured/releases/v1')).body;

  const set = await t.api('PATCH', '/apps/configured/config-vars', { GREETING: 'hello', COUNT: 3 });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body, { COUNT: '3', GREETING: 'hello' });
  // With code, a config change's release is deployed (here, with no agent, at once) before it is current.
  const v2 = await waitFor('v2 current', async () => {
    const r = (await t.api('GET', '/apps/configured/releases/v2')).body;
    return r.current ? r : undefined;
  }, 10_000, 50);
  assert.equal(v2.description, 'Set GREETING, COUNT config vars');
  assert.equal(v2.slug.id, v1.slug.id);
  const unset = await t.api('PATCH', '/apps/configured/config-vars', { GREETING: null });
  assert.deepEqual(unset.body, { COUNT: '3' });
  assert.equal((await t.api('GET', '/apps/configured/releases/v3')).body.description, 'Remove GREETING config vars');

  for (const bad of [{ 'BAD-KEY': 'x' }, { '1X': 'y' }, { 'A\nB': 'z' }, { X: { nested: true } }, {}, ['A']]) {
    const r = await t.api('PATCH', '/apps/configured/config-vars', bad);
    assert.equal(r.status, 422, JSON.stringify(bad));
  }
  const big = await t.api('PATCH', '/apps/configured/config-vars', { HUGE: 'x'.repeat(40 * 1024) });
  assert.equal(big.status, 413);
  assert.deepEqual((await t.api('GET', '/apps/configured/config-vars')).body, { COUNT: '3' }, 'refused changes change nothing');
  assert.equal((await t.api('GET', '/apps/configured/releases')).body.length, 3, 'and make no release');

  const rb = await t.api('POST', '/apps/configured/releases', { release: v2.id });
  assert.equal(rb.status, 201);
  assert.equal(rb.body.version, 4);
  assert.equal(rb.body.description, 'Rollback to v2');
  assert.equal(rb.body.slug.id, v1.slug.id);
  assert.deepEqual((await t.api('GET', '/apps/configured/config-vars')).body, { COUNT: '3', GREETING: 'hello' });
  assert.equal((await t.api('POST', '/apps/configured/releases', { release: 'v99' })).status, 404);
  assert.equal((await t.api('POST', '/apps/configured/releases', {})).status, 400);
});
