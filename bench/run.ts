/**
 * npm run bench [router] [deploy] [push]: the router against nginx (bench/router.ts), push → first 200 and
 * scaling (bench/deploy.ts), and push → release on this machine, per fixture, cold and warm build cache. Prints figures and writes
 * bench/results/push-DATE.json with the machine's description. Never pass/fail. (Dynos and the router are not
 * part of it yet: "push → first 200" comes with the runner's deploy stage.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform } from '../test/helpers/platform.js';
import { benchDeploy } from './deploy.js';
import { benchRouter } from './router.js';

const FIXTURES = [
  ['procfile-shell', 'Procfile only'],
  ['static-site', 'static site'],
  ['python-stdlib', 'Python, no requirements'],
  ['node-nodeps', 'Node, no dependencies'],
  ['node-deps', 'Node, lockfile with 3 packages'],
] as const;

const which = process.argv.slice(2);
const wants = (name: string) => which.length === 0 || which.includes(name);

if (wants('router')) {
  console.log('== router: direct vs nginx vs slipway');
  await benchRouter();
}
if (wants('deploy')) {
  console.log('== push → first 200, config:set → serving, scale 1 → 10');
  await benchDeploy();
}
if (wants('push')) await benchPush();

async function benchPush(): Promise<void> {
console.log('== git push → release');
const t = await startTestPlatform();
const rows: { fixture: string; what: string; cold_s: number; warm_s: number }[] = [];
try {
  for (const [fixture, what] of FIXTURES) {
    const app = `bench-${fixture}`.slice(0, 30).replace(/-$/, '');
    const created = await t.api('POST', '/apps', { name: app });
    if (created.status !== 201) throw new Error(`apps:create ${app}: ${JSON.stringify(created.body)}`);
    const dir = await t.checkout(fixture, app);
    const timePush = async () => {
      const started = process.hrtime.bigint();
      const r = await t.git(dir, ['push', '--force', 'slipway', 'main']);
      if (r.code !== 0) throw new Error(`push of ${fixture} failed:\n${r.out}`);
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    const cold = await timePush();
    await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'again']);
    const warm = await timePush();
    rows.push({ fixture, what, cold_s: Number(cold.toFixed(2)), warm_s: Number(warm.toFixed(2)) });
    console.log(`${what.padEnd(32)} cold ${cold.toFixed(2).padStart(6)} s   warm ${warm.toFixed(2).padStart(6)} s   warm/cold ${(warm / cold).toFixed(2)}`);
  }
} finally {
  await t.close();
}
const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, build_isolation: 'container' };
const out = join(PACKAGE_ROOT, 'bench', 'results', `push-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
await writeFile(out, JSON.stringify({ benchmark: 'git push → release (build in a build container, slug, release)', machine, rows }, null, 2) + '\n');
console.log(`written to ${out}`);
}
