/**
 * Faults: apps that misbehave, side by side with a healthy one on one `slipway up` (short limits: boot 4 s, stop
 * grace 2 s, crash backoff 2 s). The expected outcome of each, asserted from its log and the API:
 * - crashes on boot → restarted at once, then after the backoff, doubling; the router answers H10;
 * - never binds $PORT → R10 at the boot timeout, killed, counted as a crash;
 * - ignores SIGTERM → R12 at the stop grace, then SIGKILL;
 * - exceeds its memory → killed inside its own cgroup, R15, restarted;
 * - fork-bombs → held at its size's pids limit;
 * - floods its output → L10 (lines over the rate dropped), its log stream capped;
 * and the healthy app answers every request throughout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requestWithHost } from '../helpers/http.js';
import { freePort, waitFor } from '../helpers/procs.js';
import { BIN, cleanEnv, slipway, startUp, type Up } from '../helpers/slipway.js';

const run = promisify(execFile);
let up: Up;
let dataDir: string;
let apiPort: number;
let routerPort: number;
let token: string;
let env: Record<string, string>;
let healthy: { results: number[]; running: boolean; loop?: Promise<void> };

/** Each app's Procfile and the files it needs (a Procfile alone makes the procfile buildpack take it). */
const APPS: Record<string, Record<string, string>> = {
  healthy: { Procfile: 'web: python3 -m http.server $PORT\n' },
  crasher: { Procfile: 'web: sh -c "echo booting; exit 3"\n' },
  noport: { Procfile: 'web: sleep 600\n' },
  stubborn: {
    Procfile: 'web: python3 stubborn.py\n',
    'stubborn.py': 'import http.server, os, signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nhttp.server.HTTPServer(("", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()\n',
  },
  hog: {
    Procfile: 'web: python3 hog.py\n',
    // Up first (it binds $PORT), then asks for more than its 512 MB.
    'hog.py': 'import http.server, os, threading, time\nsrv = http.server.HTTPServer(("", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler)\nthreading.Thread(target=srv.serve_forever, daemon=True).start()\ntime.sleep(2)\nhog = bytearray(900 * 1024 * 1024)\nprint("survived", flush=True)\ntime.sleep(600)\n',
  },
  bomb: {
    Procfile: 'web: python3 bomb.py\n',
    // Forks for ever, and goes on trying when the kernel refuses (as a runaway worker pool would).
    'bomb.py': [
      'import http.server, os, threading, time',
      'srv = http.server.HTTPServer(("", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler)',
      'threading.Thread(target=srv.serve_forever, daemon=True).start()',
      'time.sleep(2)',
      'n, told = 0, False',
      'while True:',
      '    try:',
      '        if os.fork() == 0:',
      '            time.sleep(300)',
      '            os._exit(0)',
      '        n += 1',
      '    except OSError as e:',
      '        if not told:',
      '            print(f"fork refused after {n} children: {e.strerror}", flush=True)',
      '            told = True',
      '        time.sleep(0.01)',
      '',
    ].join('\n'),
  },
  flood: {
    Procfile: 'web: python3 flood.py\n',
    // Five times the 2000 lines a second the agent takes from one dyno.
    'flood.py': [
      'import http.server, os, sys, threading, time',
      'srv = http.server.HTTPServer(("", int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler)',
      'threading.Thread(target=srv.serve_forever, daemon=True).start()',
      'line = "flooding the log " * 4 + "\\n"',
      'while True:',
      '    sys.stdout.write(line * 1000)',
      '    sys.stdout.flush()',
      '    time.sleep(0.1)',
      '',
    ].join('\n'),
  },
};

const api = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (await r.json()) as any };
};
const logsOf = async (app: string) => (await slipway(['logs', '-a', app, '-n', '1500'], env)).stdout;
const via = (app: string) => requestWithHost(routerPort, `${app}.localhost`).catch(() => ({ status: 0, body: '' }));
const redisCli = (cmd: string[]) => run('redis-cli', ['-s', join(dataDir, 'redis', 'redis.sock'), ...cmd]).then((r) => r.stdout.trim());

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-contained-'));
  await mkdir(join(dataDir, 'home'));
  [apiPort, routerPort] = [await freePort(), await freePort()];
  env = cleanEnv({
    HOME: join(dataDir, 'home'), SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}`,
    SLIPWAY_BOOT_TIMEOUT: '4', SLIPWAY_STOP_GRACE: '2', SLIPWAY_CRASH_BACKOFF: '2', GIT_TERMINAL_PROMPT: '0',
  });
  up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  [, token] = (await up.waitForOutput(/Admin API token\s+(slw_\S+)/)) as unknown as [string, string];
  await up.waitForOutput(/Press Ctrl-C to stop/);
  env.SLIPWAY_API_KEY = token;
  const gitEnv = { ...env, GIT_AUTHOR_NAME: 'f', GIT_AUTHOR_EMAIL: 'f@example.com', GIT_COMMITTER_NAME: 'f', GIT_COMMITTER_EMAIL: 'f@example.com' };
  for (const [app, files] of Object.entries(APPS)) {
    assert.equal((await api('POST', '/apps', { name: app })).status, 201);
    // These apps misbehave once they run, and verification would (rightly) refuse to deploy some of them at all; the
    // boot timeout here (4 s) is also too short to verify even the healthy one on a loaded machine. This file is
    // about what runs, so it deploys without verifying (deploy-verify.test.ts is about verification).
    assert.equal((await api('PATCH', `/apps/${app}/config-vars`, { SLIPWAY_DEPLOY_VERIFY: 'off' })).status, 200);
    const src = join(dataDir, 'src', app);
    await mkdir(src, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(src, name), text);
    for (const g of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', app]]) await run('git', g, { cwd: src, env: gitEnv });
    await run('git', ['push', '-q', `http://x:${token}@127.0.0.1:${apiPort}/${app}.git`, 'main'], { cwd: src, env: gitEnv });
    if (app === 'healthy') {
      await waitFor('the healthy app serving', async () => (await via('healthy')).status === 200, 60_000, 100);
      healthy = { results: [], running: true };
      healthy.loop = (async () => {
        while (healthy.running) {
          healthy.results.push((await via('healthy')).status);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
    }
  }
});
after(async () => {
  if (healthy) {
    healthy.running = false;
    await healthy.loop;
  }
  await up?.stop('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('when an app crashes on boot, then it is restarted at once, then after a doubling backoff, and the router answers H10', async () => {
  await waitFor('three starts of the crasher', async () => ((await logsOf('crasher')).match(/Starting process/g) ?? []).length >= 3, 60_000, 500);
  const log = await logsOf('crasher');
  assert.match(log, /app\[web\.1\]: booting/);
  assert.match(log, /Process exited with status 3/);
  assert.match(log, /State changed from starting to crashed/);
  assert.match(log, /Restarting in 2 s \(crash 2\)/);
  await waitFor('the second backoff, doubled', async () => /Restarting in 4 s \(crash 3\)/.test(await logsOf('crasher')), 30_000, 500);
  await waitFor('H10 from the router', async () => /H10/.test((await via('crasher')).body), 20_000, 200);
});

test('when a web dyno never binds $PORT, then R10 at the boot timeout and it is killed', async () => {
  await waitFor('R10', async () => /Error R10 \(Boot timeout\) -> Web process failed to bind to \$PORT within 4 seconds of launch/.test(await logsOf('noport')), 30_000, 500);
  assert.match(await logsOf('noport'), /Stopping process with SIGKILL/);
});

test('when a dyno ignores SIGTERM, then scaling it away ends in R12 and SIGKILL after the grace', async () => {
  await waitFor('stubborn up', async () => (await via('stubborn')).status === 200, 30_000, 200);
  const scaled = await slipway(['ps:scale', 'web=0', '-a', 'stubborn'], env);
  assert.equal(scaled.code, 0, scaled.stderr);
  await waitFor('R12', async () => /Error R12 \(Exit timeout\) -> At least one process failed to exit within 2 seconds of SIGTERM/.test(await logsOf('stubborn')), 30_000, 500);
  const log = await logsOf('stubborn');
  assert.ok(log.indexOf('Stopping all processes with SIGTERM') < log.indexOf('Error R12'), log);
  assert.match(log, /Error R12[^\n]*\n[^\n]*Stopping process with SIGKILL/);
  await waitFor('stubborn down', async () => /State changed from up to down/.test(await logsOf('stubborn')), 10_000, 250);
});

test('when a dyno goes past its memory, then it alone is killed (R15) and restarted', async () => {
  await waitFor('R15', async () => /Error R15 \(Memory quota vastly exceeded\)/.test(await logsOf('hog')), 60_000, 500);
  const log = await logsOf('hog');
  assert.doesNotMatch(log, /survived/);
  await waitFor('the hog started again', async () => ((await logsOf('hog')).match(/Starting process/g) ?? []).length >= 2, 30_000, 500);
});

test('when a dyno fork-bombs, then its processes stay at its size’s pids limit', async () => {
  await waitFor('the kernel refusing the bomb', async () => /fork refused after \d+ children: Resource temporarily unavailable/.test(await logsOf('bomb')), 60_000, 500);
  const children = Number(/fork refused after (\d+) children/.exec(await logsOf('bomb'))![1]);
  assert.ok(children > 200 && children < 256, `${children} children before the cap of 256 (with the server's own threads)`);
  let pids = 0;
  let seen = 0;
  await waitFor('the bomb at its cap', async () => {
    const d = (await api('GET', '/apps/bomb/dynos')).body.find((x: { name: string }) => x.name === 'web.1');
    pids = d?.stats?.pids ?? 0;
    seen = Math.max(seen, pids);
    return pids >= 200;
  }, 60_000, 500).catch(async (e: Error) => {
    throw new Error(`${e.message}: pids at most ${seen}; the bomb's log:\n${(await logsOf('bomb')).split('\n').filter((l) => !l.includes('[router]')).slice(-30).join('\n')}`);
  });
  assert.ok(pids <= 256 && seen <= 256, `pids ${pids} (at most ${seen}) never past the standard-1x limit of 256`);
  assert.equal((await via('bomb')).status, 200, 'the bomb’s own web process still answers');
  assert.equal((await slipway(['ps:scale', 'web=0', '-a', 'bomb'], env)).code, 0); // and it stops like any dyno
});

test('when a dyno floods its output, then lines over the rate are dropped (L10) and its log stream stays capped', async () => {
  // Followed live: the stream keeps only its last 1500 lines, less than a second of this flood.
  const follow = spawn(process.execPath, [BIN, 'logs', '-a', 'flood', '-t', '-n', '0', '-s', 'slipway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  follow.stdout.on('data', (d) => (seen += d));
  try {
    await waitFor('L10', () => /Error L10 \(output buffer overflow\) -> \d+ log lines dropped/.test(seen), 30_000, 100);
  } finally {
    follow.kill('SIGTERM');
  }
  const dropped = Number(/-> (\d+) log lines dropped/.exec(seen)![1]);
  assert.ok(dropped > 2000, `about 8000 a second dropped (${dropped})`);
  const id = (await api('GET', '/apps/flood')).body.id as string;
  const len = Number(await redisCli(['XLEN', `slipway:applog:${id}`]));
  assert.ok(len > 1000 && len <= 1600, `the flood's stream holds about 1500 lines, not more (${len})`);
});

test('and through all of it, the healthy app answered every request', async () => {
  assert.ok(healthy.results.length > 100, `sampled ${healthy.results.length} times`);
  const failed = healthy.results.filter((s) => s !== 200);
  assert.deepEqual(failed, [], `${failed.length} of ${healthy.results.length} requests to the healthy app failed`);
  const [web] = (await api('GET', '/apps/healthy/dynos')).body as { name: string; state: string; restarts?: number }[];
  assert.equal(web!.state, 'up');
  assert.equal(web!.restarts, 0);
  assert.doesNotMatch(await logsOf('healthy'), /Error [RL]\d+|Process exited/);
});
