/**
 * bench/idle: what idle dynos cost the platform, under a real `slipway up` (each role its own process, the router
 * a cluster as in production). One app serves a probe through the router; another is scaled from 0 to N idle web
 * dynos. Prints the agent's and the router's memory (RSS from /proc, the router's workers included) per idle
 * dyno, the dynos' own memory from their cgroups, and the probe's router latency p50/p99 before and after: five
 * rounds of 2000 sequential keep-alive requests each way, the median round's figures and the spread, so the ratio
 * is not one round's noise. Writes bench/results/idle-DATE.json. Never pass/fail.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../server/paths.js';
import { FIXTURES } from '../test/helpers/platform.js';
import { descendants, freePort, waitFor } from '../test/helpers/procs.js';
import { cleanEnv, startUp } from '../test/helpers/slipway.js';

const run = promisify(execFile);
const IDLE = Number(process.env.BENCH_IDLE_DYNOS ?? 100);
const PROBES = 2000;
const ROUNDS = 5;

type Dyno = { type: string; state: string; stats: { memory_bytes: number | null } };
type Round = { p50_us: number; p99_us: number };

/** PROBES sequential requests on one keep-alive connection; latency percentiles in µs. */
async function probeRound(routerPort: number, app: string): Promise<Round> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: routerPort, path: '/', headers: { host: `${app}.localhost` }, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`probe got ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50_us: Math.round(times[Math.floor(times.length * 0.5)]!), p99_us: Math.round(times[Math.floor(times.length * 0.99)]!) };
}

/** ROUNDS rounds; the round with the median p99, and the p99s of all of them. */
async function probe(routerPort: number, app: string): Promise<Round & { p99_rounds_us: number[] }> {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await probeRound(routerPort, app));
  const sorted = [...rounds].sort((a, b) => a.p99_us - b.p99_us);
  return { ...sorted[Math.floor(ROUNDS / 2)]!, p99_rounds_us: rounds.map((r) => r.p99_us) };
}

async function rssMb(pids: number[]): Promise<number> {
  let kb = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

export async function benchIdle(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-idle-'));
  await mkdir(join(dataDir, 'home'));
  const [apiPort, routerPort] = [await freePort(), await freePort()];
  const env = cleanEnv({ HOME: join(dataDir, 'home'), GIT_TERMINAL_PROMPT: '0' });
  const up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], env);
  try {
    const [, token] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
    await up.waitForOutput(/Press Ctrl-C to stop/);
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`http://127.0.0.1:${apiPort}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, body: (await r.json()) as any };
    };
    const gitEnv = { ...env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' };
    for (const app of ['probe', 'idle']) {
      if ((await api('POST', '/apps', { name: app })).status !== 201) throw new Error(`apps:create ${app}`);
      const src = join(dataDir, 'src', app);
      await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
      for (const g of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', app], ['push', '-q', `http://x:${token}@127.0.0.1:${apiPort}/${app}.git`, 'main']]) {
        await run('git', g, { cwd: src, env: gitEnv });
      }
    }
    await api('PATCH', '/apps/idle/formation/web', { quantity: 0 });
    await waitFor('the probe app serving', async () => {
      const ds = (await api('GET', '/apps/probe/dynos')).body as Dyno[];
      return ds.some((d) => d.state === 'up');
    }, 60_000, 250);
    await waitFor('no idle dynos', async () => ((await api('GET', '/apps/idle/dynos')).body as Dyno[]).length === 0, 60_000, 250);
    const roles = ((await (await fetch(`http://127.0.0.1:${apiPort}/health`)).json()) as { roles: Record<string, { pid?: number }> }).roles;
    const rolePids = () => {
      const router = roles.router!.pid!;
      return { agent: [roles.agent!.pid!], router: [router, ...descendants(router).map((d) => d.pid)] };
    };
    await probeRound(routerPort, 'probe'); // warm-up
    const before = await probe(routerPort, 'probe');
    const memBefore = { agent: await rssMb(rolePids().agent), router: await rssMb(rolePids().router) };

    const scaled = Date.now();
    // eco: each dyno's scratch disk is promised 512 MB of the host's disk (100 of them: 50 GB, what this machine has).
    const r = await api('PATCH', '/apps/idle/formation/web', { quantity: IDLE, size: 'eco' });
    if (r.status !== 200) throw new Error(`scale: ${JSON.stringify(r.body)}`);
    await waitFor(`${IDLE} idle dynos up`, async () => ((await api('GET', '/apps/idle/dynos')).body as Dyno[]).filter((d) => d.state === 'up').length === IDLE, 600_000, 500);
    const upAfter = (Date.now() - scaled) / 1000;
    await new Promise((res) => setTimeout(res, 12_000)); // a stats sample for every dyno, and the route table settled
    const after = await probe(routerPort, 'probe');
    const memAfter = { agent: await rssMb(rolePids().agent), router: await rssMb(rolePids().router) };
    const dynos = (await api('GET', '/apps/idle/dynos')).body as Dyno[];
    const dynoMemory = dynos.map((d) => d.stats.memory_bytes ?? 0).filter((m) => m > 0);
    const per = (k: 'agent' | 'router') => Number(((memAfter[k] - memBefore[k]) / IDLE).toFixed(2));
    const row = {
      idle_dynos: IDLE, seconds_to_start_all: Number(upAfter.toFixed(1)),
      agent_mb_per_idle_dyno: per('agent'), router_mb_per_idle_dyno: per('router'),
      platform_mb_per_idle_dyno: Number((per('agent') + per('router')).toFixed(2)),
      rss_mb_before: memBefore, rss_mb_after: memAfter,
      dyno_own_mb_avg: Number((dynoMemory.reduce((a, b) => a + b, 0) / Math.max(1, dynoMemory.length) / 2 ** 20).toFixed(1)),
      probe_before: before, probe_after: after, p99_ratio: Number((after.p99_us / before.p99_us).toFixed(2)),
    };
    console.log(`${IDLE} idle dynos up in ${row.seconds_to_start_all} s; per idle dyno: agent ${row.agent_mb_per_idle_dyno} MB, router ${row.router_mb_per_idle_dyno} MB (RSS, all router workers); each dyno's own ${row.dyno_own_mb_avg} MB`);
    console.log(`router probe p50/p99 (median of ${ROUNDS} rounds of ${PROBES}): before ${before.p50_us}/${before.p99_us} µs, after ${after.p50_us}/${after.p99_us} µs (p99 ×${row.p99_ratio}); p99 per round before ${before.p99_rounds_us.join(' ')}, after ${after.p99_rounds_us.join(' ')}`);
    const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const out = join(PACKAGE_ROOT, 'bench', 'results', `idle-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(out, JSON.stringify({ benchmark: 'idle dynos under slipway up: agent and router memory per dyno, router latency with and without them', machine, row }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await up.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
}
