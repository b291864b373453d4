/** One conformance suite for every BuildExecutor: the host one and the runc build container. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostExecutor, type BuildExecutor } from '../../runner/build/executor.js';
import { loadConfig } from '../../server/config.js';
import { createRuncBuildExecutor } from '../../runner/build/build-executor.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { stackPath } from '../../runner/sandbox/stack.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-exec-'));
  await chmod(dir, 0o755);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const implementations: [string, () => BuildExecutor][] = [
  ['host', () => createHostExecutor()],
  ['runc build container', () => {
    const c = loadConfig();
    const rootfs = stackPath(c.stacksDir, 'build');
    assert.ok(existsSync(rootfs), `the build stack is missing at ${rootfs}: run npm run setup`);
    let next = 100;
    return createRuncBuildExecutor({
      runc: createRunc({ root: join(dir, 'runc'), bundles: join(dir, 'bundles') }), rootfs,
      network: { bridge: c.bridge, subnet: c.subnet, nat: c.nat },
      addresses: { allocate: async () => c.subnet.replace(/\.\d+\/\d+$/, `.${next++}`), release: async () => undefined },
      memoryBytes: 256 << 20, mounts: [], identitiesDir: join(dir, 'identities'),
    });
  }],
];

for (const [name, make] of implementations) {
  describe(`BuildExecutor: ${name}`, () => {
    async function script(body: string) {
      const work = await mkdtemp(join(dir, 'work-'));
      await chmod(work, 0o755);
      const bin = join(work, 'bin');
      await mkdir(bin);
      await writeFile(join(bin, 'step'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      await chmod(bin, 0o755);
      return { work, step: join(bin, 'step'), mounts: [{ source: work, destination: '/tmp/work', readonly: false, owned: true }] };
    }

    test('when a step prints on stdout and stderr, then every line arrives, each stream in order, and stdout is returned', async () => {
      const s = await script('echo one; echo two >&2; printf "three"');
      const lines: string[] = [];
      const r = await make().run([s.step], { cwd: s.work, env: { PATH: '/usr/bin:/bin' }, onLine: (l) => lines.push(l), mounts: s.mounts });
      assert.equal(r.code, 0);
      // Two pipes: the order between them is not defined, the order within each is.
      assert.deepEqual([...lines].sort(), ['one', 'three', 'two']);
      assert.ok(lines.indexOf('one') < lines.indexOf('three'));
      assert.equal(r.stdout, 'one\nthree');
    });

    test('when a step exits with a status, then the status is returned', async () => {
      const s = await script('exit 5');
      assert.equal((await make().run([s.step], { cwd: s.work, env: { PATH: '/usr/bin:/bin' }, mounts: s.mounts })).code, 5);
    });

    test('when a step is given an environment and arguments, then it sees exactly those, paths as it may reach them', async () => {
      const s = await script('echo "$GREETING $1"; test -z "$NODE_EXTRA_CA_CERTS" && echo clean; echo "$SOME_PATH"; ls "$SOME_PATH"');
      await writeFile(join(s.work, 'marker'), '');
      const lines: string[] = [];
      const r = await make().run([s.step, 'arg1'], { cwd: s.work, env: { PATH: '/usr/bin:/bin', GREETING: 'hello', SOME_PATH: s.work }, onLine: (l) => lines.push(l), mounts: s.mounts });
      assert.equal(r.code, 0, lines.join('\n'));
      assert.equal(lines[0], 'hello arg1');
      assert.equal(lines[1], 'clean');
      assert.ok(lines.includes('marker'), lines.join('\n'));
    });

    test('when a step writes into its work dir, then the file is there afterwards', async () => {
      const s = await script('echo built > "$1/out.txt"');
      const r = await make().run([s.step, s.work], { cwd: s.work, env: { PATH: '/usr/bin:/bin' }, mounts: s.mounts });
      assert.equal(r.code, 0);
      assert.equal(existsSync(join(s.work, 'out.txt')), true);
    });

    test('when a step runs past its timeout, then it and what it started are killed', async () => {
      const s = await script('sleep 60 & sleep 60; echo never');
      const started = Date.now();
      const r = await make().run([s.step], { cwd: s.work, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 1000, mounts: s.mounts });
      assert.equal(r.timedOut, true);
      assert.notEqual(r.code, 0);
      assert.ok(Date.now() - started < 10_000);
    });
  });
}
