/**
 * npm run bench [router] [deploy] [idle] [push] [dyno-start] [images] [addon-neighbour]: each benchmark prints its figures (ratios against a baseline measured in
 * the same run where there is one) and writes bench/results/NAME-DATE.json with the machine's description. Never
 * pass/fail. router: the router against nginx and a direct connection (bench/router.ts); deploy: push → first 200
 * through the router, config:set → serving, scale 1 → 10 (bench/deploy.ts); idle: 100 idle dynos' cost to the
 * platform and to the router's latency (bench/idle.ts); push: push → release, per fixture,
 * cold and warm build cache; dyno-start: container start with and without seccomp and the scratch disk
 * (bench/dyno-start.ts); images: disk for ten apps on one node version, slugs as files against slug layers, stored and unpacked (bench/images.ts);
 * addon-neighbour: a neighbour's Redis and PostgreSQL latency while one tenant attacks the add-on servers (bench/addon-neighbour.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform } from '../test/helpers/platform.js';
import { FIXTURES, pushColdWarm } from './common.js';
import { benchAddonNeighbour } from './addon-neighbour.js';
import { benchDeploy } from './deploy.js';
import { benchDynoStart } from './dyno-start.js';
import { benchIdle } from './idle.js';
import { benchImages } from './images.js';
import { benchRouter } from './router.js';

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
if (wants('idle')) {
  console.log('== idle dynos: platform memory per dyno, router latency');
  await benchIdle();
}
if (wants('push')) await benchPush();
if (wants('addon-neighbour')) {
  console.log('== a neighbour of one hostile tenant on the add-on servers');
  await benchAddonNeighbour();
}
if (wants('images')) {
  console.log('== ten apps on one node version: slugs as files against slug layers');
  await benchImages();
}
if (wants('dyno-start')) {
  console.log('== dyno start: the sandbox before, with seccomp, with seccomp and a scratch disk');
  const figures = await benchDynoStart();
  await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  const out = join(PACKAGE_ROOT, 'bench', 'results', `dyno-start-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  await writeFile(out, JSON.stringify({ benchmark: 'runc start → exit of /bin/true on the run stack', machine: { cpus: cpus().length, node: process.version }, figures }, null, 2) + '\n');
  console.log(`written to ${out}`);
}

async function benchPush(): Promise<void> {
  console.log('== git push → release');
  const t = await startTestPlatform();
  const rows: { fixture: string; what: string; cold_s: number; warm_s: number }[] = [];
  try {
    for (const [fixture, what] of FIXTURES) {
      const { cold, warm } = await pushColdWarm(t, 'bench', fixture);
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
