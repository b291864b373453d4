/**
 * bench/idle: what idle dynos cost the platform. One app serves a probe through the router; another is scaled from
 * 0 to N idle web dynos. Prints the platform's (agent + router + the rest, one process here) memory per idle dyno,
 * the dynos' own memory from their cgroups, and the probe's router latency p50/p99 before and after, as a ratio.
 * Writes bench/results/idle-DATE.json. Never pass/fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform, type TestPlatform } from '../test/helpers/platform.js';

const IDLE = Number(process.env.BENCH_IDLE_DYNOS ?? 100);
const PROBES = 2000;

type Dyno = { type: string; state: string; stats: { memory_bytes: number | null } };

async function until(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** PROBES sequential requests on one keep-alive connection; latency percentiles in µs. */
async function probe(t: TestPlatform, app: string): Promise<{ p50_us: number; p99_us: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: t.routerPort, path: '/', headers: { host: `${app}.localhost` }, agent }, (res) => {
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
  return { p50_us: Math.round(times[Math.floor(times.length * 0.5)]), p99_us: Math.round(times[Math.floor(times.length * 0.99)]) };
}

const rssMb = () => process.memoryUsage().rss / 2 ** 20;

export async function benchIdle(): Promise<void> {
  const t = await startTestPlatform({}, { dynos: true });
  try {
    for (const app of ['probe', 'idle']) {
      if ((await t.api('POST', '/apps', { name: app })).status !== 201) throw new Error(`apps:create ${app}`);
      const dir = await t.checkout('procfile-shell', app);
      const push = await t.git(dir, ['push', '-q', 'slipway', 'main']);
      if (push.code !== 0) throw new Error(`push ${app}: ${push.out}`);
    }
    await t.api('PATCH', '/apps/idle/formation/web', { quantity: 0 });
    await until('the probe app serving', async () => (await t.get('probe').catch(() => ({ status: 0 }))).status === 200, 60_000);
    await until('no idle dynos', async () => ((await t.api('GET', '/apps/idle/dynos')).body as Dyno[]).length === 0, 60_000);
    await probe(t, 'probe'); // warm-up
    const before = await probe(t, 'probe');
    const rssBefore = rssMb();

    const scaled = Date.now();
    const r = await t.api('PATCH', '/apps/idle/formation/web', { quantity: IDLE });
    if (r.status !== 200) throw new Error(`scale: ${JSON.stringify(r.body)}`);
    await until(`${IDLE} idle dynos up`, async () => ((await t.api('GET', '/apps/idle/dynos')).body as Dyno[]).filter((d) => d.state === 'up').length === IDLE, 600_000);
    const upAfter = (Date.now() - scaled) / 1000;
    await new Promise((res) => setTimeout(res, 12_000)); // a stats sample (every 10 s) for every dyno
    const after = await probe(t, 'probe');
    const rssAfter = rssMb();
    const dynos = (await t.api('GET', '/apps/idle/dynos')).body as Dyno[];
    const dynoMemory = dynos.map((d) => d.stats.memory_bytes ?? 0).filter((m) => m > 0);
    const perDynoMb = (rssAfter - rssBefore) / IDLE;
    const dynoAvgMb = dynoMemory.reduce((a, b) => a + b, 0) / Math.max(1, dynoMemory.length) / 2 ** 20;
    const row = {
      idle_dynos: IDLE, seconds_to_start_all: Number(upAfter.toFixed(1)),
      platform_mb_per_idle_dyno: Number(perDynoMb.toFixed(2)), dyno_own_mb_avg: Number(dynoAvgMb.toFixed(1)),
      probe_before: before, probe_after: after, p99_ratio: Number((after.p99_us / before.p99_us).toFixed(2)),
    };
    console.log(`${IDLE} idle dynos up in ${row.seconds_to_start_all} s; platform memory per idle dyno ${row.platform_mb_per_idle_dyno} MB (agent, router and the rest in one process here); each dyno's own ${row.dyno_own_mb_avg} MB`);
    console.log(`router probe p50/p99: before ${before.p50_us}/${before.p99_us} µs, after ${after.p50_us}/${after.p99_us} µs (p99 ×${row.p99_ratio})`);
    const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const out = join(PACKAGE_ROOT, 'bench', 'results', `idle-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(out, JSON.stringify({ benchmark: 'idle dynos: platform memory per dyno, router latency with and without them', machine, row }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await t.close();
  }
}
