/**
 * The agent's rules (boot, crash backoff, stop with grace, replacement without downtime, scaling) over the fake
 * runner — real processes on this host — and an in-memory store. The same agent runs over runc and Postgres in
 * the platform tests.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAgent, backoffDelay, type AgentStore, type DesiredDyno, type DynoReport, type Agent } from '../../runner/agent/agent.js';
import { createFakeRunner } from '../../runner/fake-runner.js';
import { dynoSize, type Runner } from '../../runner/index.js';

const APP = '00000000-0000-4000-8000-0000000000a1';
const WEB = `python3 -c 'import http.server, os; http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()'`;

function memoryStore() {
  const s = {
    desired: [] as DesiredDyno[],
    reports: [] as DynoReport[],
    rows: new Map<string, DynoReport>(),
    forgotten: [] as string[],
    store: undefined as unknown as AgentStore,
  };
  s.store = {
    desired: async () => s.desired,
    report: async (r) => {
      s.reports.push({ ...r });
      s.rows.set(r.id, { ...r });
    },
    forget: async (id) => {
      s.forgotten.push(id);
      s.rows.delete(id);
    },
    reset: async () => undefined,
    stats: async () => undefined,
    claimOneOff: async () => true,
  };
  return s;
}

function dyno(type: string, i: number, command: string, release = 1): DesiredDyno {
  return {
    appId: APP, app: 'agent-test', type, name: `${type}.${i}`, command, config: {}, size: dynoSize(undefined)!,
    release: { id: `00000000-0000-4000-8000-00000000000${release}`, version: release, slugDigest: '0'.repeat(64) },
    generation: `rel-${release}`,
  };
}

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

function start(s: ReturnType<typeof memoryStore>, opts: Partial<Parameters<typeof createAgent>[0]> = {}) {
  const lines: { source: string; dyno: string; line: string; at: number }[] = [];
  agent = createAgent({
    runner: createFakeRunner(), store: s.store, reconcileMs: 100_000, statsMs: 100_000,
    logs: { write: (_app, source, d, line) => lines.push({ source, dyno: d, line, at: Date.now() }) },
    bootTimeoutMs: 10_000, stopGraceMs: 2000, backoffMs: 400, ...opts,
  });
  return { agent, lines, text: () => lines.map((l) => `${l.source}[${l.dyno}]: ${l.line}`).join('\n') };
}

async function until(fn: () => boolean, ms: number, what: string, dump?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fn()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}${dump ? `\n${dump()}` : ''}`);
}

test('crash backoff: immediately, then the base delay, then doubling; capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, 10_000, 300_000)), [0, 10_000, 20_000, 40_000, 80_000, 300_000]);
});

test('when a web dyno is desired, then it starts, is up once it accepts TCP, and says so in the log', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, WEB)];
  const a = start(s);
  await a.agent.start();
  await until(() => [...s.rows.values()].some((r) => r.state === 'up'), 10_000, 'web.1 up', a.text);
  const row = [...s.rows.values()][0];
  assert.equal(row.name, 'web.1');
  assert.equal(row.host, '127.0.0.1');
  assert.ok(row.port);
  assert.match(a.text(), /slipway\[web\.1\]: Starting process with command `python3 -c/);
  assert.match(a.text(), /slipway\[web\.1\]: State changed from starting to up/);
});

test('when a dyno keeps crashing, then it restarts at once, then after the backoff, doubling, with its exit status logged', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'echo boom; exit 3')];
  const a = start(s, { backoffMs: 400 });
  await a.agent.start();
  const starts = () => a.lines.filter((l) => l.line.startsWith('Starting process'));
  await until(() => starts().length >= 4, 10_000, 'four starts', a.text);
  const t = starts().map((l) => l.at);
  assert.ok(t[1] - t[0] < 300, `the first restart is immediate (${t[1] - t[0]} ms)`);
  assert.ok(t[2] - t[1] >= 380, `the second waits the base delay (${t[2] - t[1]} ms)`);
  assert.ok(t[3] - t[2] >= 780, `the third waits twice that (${t[3] - t[2]} ms)`);
  assert.match(a.text(), /app\[worker\.1\]: boom/);
  assert.match(a.text(), /slipway\[worker\.1\]: Process exited with status 3/);
  assert.match(a.text(), /slipway\[worker\.1\]: State changed from up to crashed/);
  assert.ok(s.reports.some((r) => r.state === 'crashed' && r.exitCode === 3));
});

test('when a web dyno never binds $PORT, then it is killed at the boot timeout with R10 and counted as crashed', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, 'sleep 60')];
  const a = start(s, { bootTimeoutMs: 600, backoffMs: 60_000 });
  await a.agent.start();
  await until(() => /R10/.test(a.text()) && /State changed from starting to crashed/.test(a.text()), 10_000, 'R10', a.text);
  assert.match(a.text(), /Error R10 \(Boot timeout\) -> Web process failed to bind to \$PORT within 1 seconds of launch/);
});

test('when a dyno ignores SIGTERM on stop, then after the grace period it gets SIGKILL and R12', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, `trap '' TERM; echo ready; sleep 60`)];
  const a = start(s, { stopGraceMs: 500 });
  await a.agent.start();
  await until(() => a.lines.some((l) => l.line === 'ready'), 10_000, 'ready', a.text);
  s.desired = [];
  await a.agent.kick();
  await until(() => s.forgotten.length === 1, 10_000, 'the dyno to go', a.text);
  const text = a.text();
  assert.match(text, /Stopping all processes with SIGTERM[\s\S]*Error R12 \(Exit timeout\) -> At least one process failed to exit within 1 seconds of SIGTERM[\s\S]*Stopping process with SIGKILL[\s\S]*Process exited with status 137/);
});

test('when a dyno exits on SIGTERM, then there is no R12', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'echo ready; sleep 60')];
  const a = start(s, { stopGraceMs: 5000 });
  await a.agent.start();
  await until(() => a.lines.some((l) => l.line === 'ready'), 10_000, 'ready', a.text);
  s.desired = [];
  const t0 = Date.now();
  await a.agent.kick();
  await until(() => s.forgotten.length === 1, 10_000, 'the dyno to go', a.text);
  assert.ok(Date.now() - t0 < 3000);
  assert.doesNotMatch(a.text(), /R12/);
  assert.match(a.text(), /Process exited with status 143/);
});

test('when a new release arrives, then the new web dyno is up before the old one is stopped', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, WEB, 1)];
  const a = start(s);
  await a.agent.start();
  await until(() => s.reports.some((r) => r.state === 'up'), 10_000, 'v1 up', a.text);
  const old = s.reports.find((r) => r.state === 'up')!.id;
  s.desired = [dyno('web', 1, WEB, 2)];
  await a.agent.kick();
  await until(() => s.forgotten.includes(old), 10_000, 'the old dyno to go', a.text);
  const newUp = s.reports.findIndex((r) => r.id !== old && r.state === 'up');
  const oldStopping = s.reports.findIndex((r) => r.id === old && r.state === 'stopping');
  assert.ok(newUp >= 0 && oldStopping > newUp, `order: ${s.reports.map((r) => `${r.id.slice(-6)}:${r.state}`).join(' ')}`);
  assert.equal([...s.rows.values()].length, 1);
  assert.equal([...s.rows.values()][0].releaseId.endsWith('2'), true);
});

test('when the formation shrinks, then the extra dynos stop; when it grows, they start', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'sleep 60'), dyno('worker', 2, 'sleep 60')];
  const a = start(s);
  await a.agent.start();
  await until(() => [...s.rows.values()].filter((r) => r.state === 'up').length === 2, 10_000, 'two up', a.text);
  s.desired = [dyno('worker', 1, 'sleep 60')];
  await a.agent.kick();
  await until(() => s.rows.size === 1, 10_000, 'one left', a.text);
  assert.equal([...s.rows.values()][0].name, 'worker.1');
  s.desired = [1, 2, 3].map((i) => dyno('worker', i, 'sleep 60'));
  await a.agent.kick();
  await until(() => [...s.rows.values()].filter((r) => r.state === 'up').length === 3, 10_000, 'three up', a.text);
});

test('when a restart is asked, then the dyno is replaced and a crash count starts again', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, WEB)];
  const a = start(s);
  await a.agent.start();
  await until(() => s.reports.some((r) => r.state === 'up'), 10_000, 'up', a.text);
  const first = s.reports.find((r) => r.state === 'up')!.id;
  await a.agent.restart(APP, { type: 'web' });
  await until(() => s.forgotten.includes(first) && [...s.rows.values()].some((r) => r.state === 'up'), 10_000, 'replaced', a.text);
  assert.notEqual([...s.rows.values()][0].id, first);
});

test('when a dyno floods its output, then lines beyond the rate are dropped and counted (L10)', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'seq 1 20000; sleep 5; echo after')];
  const a = start(s, { maxLinesPerSecond: 1000 });
  await a.agent.start();
  // Counted when the second is over, not when the dyno next writes (it is silent for 5 s after the burst).
  await until(() => /Error L10/.test(a.text()), 4000, 'L10 before the dyno writes again', () => a.text().slice(-2000));
  assert.ok(!a.lines.some((l) => l.line === 'after'));
  await until(() => a.lines.some((l) => l.line === 'after'), 10_000, 'after', () => a.text().slice(-2000));
  const logged = a.lines.filter((l) => l.source === 'app' && l.line !== 'after');
  const appLines = logged.length;
  // The agent's windows are a second or longer and need not start with the first line (the first one starts before
  // the dyno does), so lines logged over span ms fell in at most ceil(span/1000)+1 of them: 950 ms can straddle two.
  // The burst spans several: past four times the cap in a window the dyno's output is held back until the next one,
  // so 20 000 lines are read over about five windows (1000 logged and 3000 dropped in each).
  const windows = Math.ceil((logged[appLines - 1].at - logged[0].at) / 1000) + 1;
  const dropped = [...a.text().matchAll(/Error L10 \(output buffer overflow\) -> (\d+) log lines dropped/g)].reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(dropped > 0, 'an L10 line counts what was dropped');
  assert.ok(appLines <= 1000 * windows, `at most the rate per second got through (1000 a second): ${appLines} in ${windows} windows`);
  assert.ok(windows <= 8, `the burst was read at four times the cap, held back in between (${windows} windows)`);
  assert.ok(dropped >= 20000 - appLines - 1000 && dropped <= 20000, `dropped lines are counted (${appLines} logged, ${dropped} counted)`);
});

test('when a dyno writes as fast as it can (yes), then its output is held back and reading it costs the agent little', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'timeout 3 yes flooding')];
  const a = start(s, { maxLinesPerSecond: 1000 });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await a.agent.start();
  await until(() => /Process exited with status 124/.test(a.text()), 15_000, 'the flood over', () => a.text().split('\n').filter((l) => !l.endsWith('flooding')).join('\n'));
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wall = (Date.now() - t0) / 1000;
  const appLines = a.lines.filter((l) => l.source === 'app').length;
  assert.ok(appLines <= 1000 * (Math.ceil(wall) + 1), `at most the rate got through: ${appLines} lines in ${wall.toFixed(1)} s`);
  assert.match(a.text(), /Error L10 \(output buffer overflow\) -> \d+ log lines dropped/);
  // Unthrottled, reading yes's millions of lines a second keeps this process busy the whole 3 s.
  assert.ok(cpuSeconds < 0.3 * wall, `the agent's process used ${cpuSeconds.toFixed(2)} s of CPU in ${wall.toFixed(1)} s of flood`);
});

test('when the agent stops, then every dyno is stopped and forgotten', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, WEB), dyno('worker', 1, 'sleep 60')];
  const a = start(s);
  await a.agent.start();
  await until(() => [...s.rows.values()].filter((r) => r.state === 'up').length === 2, 10_000, 'both up', a.text);
  await a.agent.stop();
  agent = undefined;
  assert.equal(s.rows.size, 0);
});

test('when the agent stops while a dyno of a removed app is still draining, then that dyno is stopped before stop() returns', async () => {
  const s = memoryStore();
  s.desired = [dyno('web', 1, WEB)];
  const runner = createFakeRunner();
  const a = start(s, { runner });
  await a.agent.start();
  await until(() => [...s.rows.values()].some((r) => r.state === 'up'), 10_000, 'up', a.text);
  s.desired = []; // the app was destroyed: its web dyno drains from the routes for a second, then gets SIGTERM
  await a.agent.kick();
  assert.equal((await runner.list()).length, 1, 'still draining');
  await a.agent.stop();
  agent = undefined;
  assert.deepEqual(await runner.list(), [], 'no dyno outlives the agent');
  assert.match(a.text(), /Stopping all processes with SIGTERM/);
});

test('when a dyno is scaled away while the runner is still launching it, then it is stopped once launched, never left running', async () => {
  const s = memoryStore();
  s.desired = [dyno('worker', 1, 'sleep 60')];
  const fake = createFakeRunner();
  // A slow launch (a big slug unpacking, a busy runc): the stop arrives before the handle does.
  const runner: Runner = { ...fake, start: async (spec, opts) => { await new Promise((r) => setTimeout(r, 400)); return fake.start(spec, opts); } };
  const a = start(s, { runner });
  await a.agent.start();
  s.desired = [];
  await a.agent.kick();
  await until(() => a.text().includes('State changed from starting to down') || s.rows.size === 0, 5000, 'stopped', a.text);
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(await fake.list(), [], 'the dyno launched after its stop was asked for, and was stopped');
  await a.agent.stop();
  agent = undefined;
});
