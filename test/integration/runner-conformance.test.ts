/**
 * The Runner contract, run against both implementations: the fake (host processes) and runc (containers). The
 * agent relies on exactly these behaviours, so its fast tests with the fake say something about production.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { dynoSize, type DynoSpec } from '../../runner/index.js';
import { mintContainerName } from '../../platform/container-name.js';
import { fakeTestRunner, runcTestRunner, type TestRunner } from '../helpers/runners.js';
import { PY_WEB_SERVER } from '../helpers/runners.js';

const SERVER = PY_WEB_SERVER;

async function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.write(`GET / HTTP/1.0\r\nHost: x\r\n\r\n`));
    let data = '';
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('data', (d) => (data += d));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const [kind, make] of [['fake', fakeTestRunner], ['runc', runcTestRunner]] as const) {
  describe(`Runner conformance: ${kind}`, () => {
    let t: TestRunner;
    let digest: string;
    let n = 0;
    before(async () => {
      t = await make();
      digest = await t.slug({ 'server.py': SERVER });
    });
    after(async () => t?.close());

    const spec = (command: string, over: Partial<DynoSpec> = {}): DynoSpec => ({
      id: mintContainerName({ app: 'conform', release: { version: 3 }, process: 'web', index: ++n }, 'agent'), app: 'conform', appId: '00000000-0000-4000-8000-000000000001',
      name: `web.${n}`, type: 'web', release: { id: '00000000-0000-4000-8000-000000000002', version: 3, slugDigest: digest },
      command, config: { GREETING: 'hi' }, size: dynoSize('standard-1x')!, ...over,
    });

    test('when a web dyno starts, then it answers at its address and port with its env', async () => {
      const lines: string[] = [];
      const cmd = kind === 'runc' ? 'python3 server.py' : `python3 -c '${SERVER.replace(/'/g, "'\\''")}'`;
      const h = await t.runner.start(spec(cmd), { onLine: (l) => lines.push(l) });
      try {
        const res = await until(async () => {
          const r = await httpGet(h.host, h.port);
          return r.includes('200') ? r : undefined;
        }, 15_000, 'the dyno to answer');
        assert.match(res, /hello from web\.\d+/);
        assert.ok((await t.runner.list()).includes(h.id));
      } finally {
        await t.runner.signal(h.id, 'KILL');
        await h.exited;
      }
      assert.ok(!(await t.runner.list()).includes(h.id), 'an exited dyno is gone from list()');
    });

    test('when a dyno writes and exits, then its lines arrive and its exit status is reported', async () => {
      const lines: string[] = [];
      const h = await t.runner.start(spec('echo "out $GREETING $DYNO $SLIPWAY_RELEASE_VERSION"; echo err >&2; exit 3'), { onLine: (l) => lines.push(l) });
      const exit = await h.exited;
      assert.equal(exit.code, 3);
      assert.equal(exit.oomKilled, false);
      assert.ok(lines.some((l) => /^out hi web\.\d+ 3$/.test(l)), lines.join('\n'));
      assert.ok(lines.includes('err'), lines.join('\n'));
    });

    test('when a line is longer than 10 KB, then it arrives in pieces of at most 10 KB', async () => {
      const lines: string[] = [];
      const h = await t.runner.start(spec(`head -c 25000 /dev/zero | tr '\\0' x; echo`), { onLine: (l) => lines.push(l) });
      await h.exited;
      assert.deepEqual(lines.map((l) => l.length), [10_000, 10_000, 5000]);
    });

    test('when a dyno gets SIGTERM, then its processes get it and it may exit cleanly', async () => {
      const lines: string[] = [];
      const h = await t.runner.start(spec(`trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done`), { onLine: (l) => lines.push(l) });
      await until(async () => (lines.includes('ready') ? true : undefined), 10_000, 'ready');
      await t.runner.signal(h.id, 'TERM');
      const exit = await h.exited;
      assert.equal(exit.code, 0, lines.join('\n'));
      assert.ok(lines.includes('got-term'));
    });

    test('when a process of the dyno ignores SIGTERM, then SIGKILL still ends it', async () => {
      const lines: string[] = [];
      const h = await t.runner.start(spec(`trap '' TERM; echo ready; sleep 60`), { onLine: (l) => lines.push(l) });
      await until(async () => (lines.includes('ready') ? true : undefined), 10_000, 'ready');
      await t.runner.signal(h.id, 'TERM');
      const early = await Promise.race([h.exited.then(() => 'exited'), sleep(700).then(() => 'running')]);
      assert.equal(early, 'running', 'SIGTERM was ignored, so the dyno keeps running');
      await t.runner.signal(h.id, 'KILL');
      const exit = await h.exited;
      assert.equal(exit.code, 137);
    });

    test('when a plain command gets SIGTERM, then it ends with 143', async () => {
      const lines: string[] = [];
      const h = await t.runner.start(spec(`echo ready; sleep 60`), { onLine: (l) => lines.push(l) });
      await until(async () => (lines.includes('ready') ? true : undefined), 10_000, 'ready');
      await t.runner.signal(h.id, 'TERM');
      assert.equal((await h.exited).code, 143);
    });
  });
}
