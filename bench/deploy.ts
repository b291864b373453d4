/**
 * bench/deploy: what a user waits for, measured through the router. Per fixture: git push → the new release's web
 * dynos up and the first 200 through the router (cold: first push; warm: a second push with the build cache);
 * config:set → the new release serving; ps:scale web=1 → 10 until all ten are up (routable). Writes
 * bench/results/deploy-DATE.json. Never pass/fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform, type TestPlatform } from '../test/helpers/platform.js';
import { FIXTURES, pushColdWarm, secondsSince } from './common.js';

type Dyno = { type: string; state: string; release: { version: number } };

/** Until `count` web dynos of release `version` are up (so in the routes) and the router answers 200. */
async function serving(t: TestPlatform, app: string, version: number, count = 1, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dynos = (await t.api('GET', `/apps/${app}/dynos`)).body as Dyno[];
    // Routable: up and of the new release (the old ones drain for a second meanwhile, still answering).
    const ready = dynos.filter((d) => d.type === 'web' && d.state === 'up' && d.release.version === version);
    if (ready.length >= count) {
      if ((await t.get(app).catch(() => ({ status: 0 }))).status === 200) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${app} v${version} not serving with ${count} web dynos within ${timeoutMs} ms`);
}

async function latestVersion(t: TestPlatform, app: string): Promise<number> {
  const r = await t.api('GET', `/apps/${app}/releases`);
  return Math.max(...(r.body as { version: number }[]).map((x) => x.version));
}

export async function benchDeploy(): Promise<void> {
  const t = await startTestPlatform({}, { dynos: true });
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [fixture, what] of FIXTURES) {
      const { cold, warm } = await pushColdWarm(t, 'bd', fixture, async (app) => serving(t, app, await latestVersion(t, app)));
      rows.push({ fixture, what, push_to_200_cold_s: Number(cold.toFixed(2)), push_to_200_warm_s: Number(warm.toFixed(2)) });
      console.log(`${what.padEnd(32)} push → 200: cold ${cold.toFixed(2).padStart(6)} s   warm ${warm.toFixed(2).padStart(6)} s`);
    }

    const app = 'bd-python-stdlib';
    let started = process.hrtime.bigint();
    const set = await t.api('PATCH', `/apps/${app}/config-vars`, { BENCH: String(Date.now()) });
    if (set.status !== 200) throw new Error(`config:set: ${JSON.stringify(set.body)}`);
    await serving(t, app, await latestVersion(t, app));
    const configSet = secondsSince(started);
    console.log(`config:set → new release serving: ${configSet.toFixed(2)} s (includes the app's own boot)`);

    started = process.hrtime.bigint();
    const scaled = await t.api('PATCH', `/apps/${app}/formation/web`, { quantity: 10 });
    if (scaled.status !== 200) throw new Error(`ps:scale: ${JSON.stringify(scaled.body)}`);
    await serving(t, app, await latestVersion(t, app), 10);
    const scale = secondsSince(started);
    console.log(`ps:scale web=1 → 10, all ten up and routable: ${scale.toFixed(2)} s`);
    rows.push({ config_set_to_serving_s: Number(configSet.toFixed(2)), scale_1_to_10_s: Number(scale.toFixed(2)) });
  } finally {
    await t.close();
  }
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
  const out = join(PACKAGE_ROOT, 'bench', 'results', `deploy-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(out, JSON.stringify({ benchmark: 'push → first 200 through the router; config:set → serving; scale 1 → 10', machine, rows }, null, 2) + '\n');
  console.log(`written to ${out}`);
}
