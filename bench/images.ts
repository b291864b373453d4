/**
 * bench/images: disk for ten apps on the same node version. Ten apps push the same Node fixture (no dependencies,
 * the newest LTS), each with a file of its own; then each release's image is made (what the registry does on the first pull). Prints the bytes
 * of the ten slugs (each holding its own node) against the image store's (the run stack and the node runtime once,
 * an app layer and a launcher each), how many distinct runtime layers there are, and the time to make the first and
 * the next images. Writes bench/results/images-DATE.json. Never pass/fail.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform } from '../test/helpers/platform.js';
import { secondsSince } from './common.js';

const APPS = 10;
const MB = 2 ** 20;

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) n += (await stat(join(dir, f))).size;
  return n;
}

export async function benchImages(): Promise<void> {
  const t = await startTestPlatform();
  try {
    const manifests: { layers: { digest: string; size: number }[] }[] = [];
    const makeTimes: number[] = [];
    for (let i = 1; i <= APPS; i++) {
      const app = `img-bench-${i}`;
      await t.createApp(app);
      // Each app its own code (one file differs), so each has a slug of its own, as ten real apps would.
      const dir = await t.checkout('node-default', app);
      await writeFile(join(dir, 'APP'), `${app}\n`);
      await t.git(dir, ['add', '-A']);
      await t.git(dir, ['commit', '-qm', app]);
      const push = await t.git(dir, ['push', 'slipway', 'main']);
      if (push.code !== 0) throw new Error(`push of ${app} failed:\n${push.out}`);
      const started = process.hrtime.bigint();
      const res = await fetch(`${t.url}/v2/${app}/manifests/v1`, { headers: { authorization: `Bearer ${t.adminToken}` } });
      if (!res.ok) throw new Error(`${app}'s image: ${res.status} ${await res.text()}`);
      makeTimes.push(secondsSince(started));
      manifests.push((await res.json()) as { layers: { digest: string; size: number }[] });
    }
    const slugBytes = await dirBytes(join(t.dataDir, 'slugs'));
    const imageBytes = await dirBytes(join(t.dataDir, 'images', 'blobs', 'sha256'));
    const [stack, runtime] = [manifests[0].layers[0], manifests[0].layers[1]];
    const runtimes = new Set(manifests.map((m) => m.layers[1].digest));
    const withoutStack = imageBytes - stack.size;
    const figures = {
      apps: APPS, slugs_mb: +(slugBytes / MB).toFixed(1), image_store_mb: +(imageBytes / MB).toFixed(1),
      run_stack_layer_mb: +(stack.size / MB).toFixed(1), runtime_layer_mb: +(runtime.size / MB).toFixed(1), distinct_runtime_layers: runtimes.size,
      image_store_without_stack_mb: +(withoutStack / MB).toFixed(1), slugs_over_layers: +(slugBytes / withoutStack).toFixed(1),
      first_image_s: +makeTimes[0].toFixed(2), next_images_s: +(makeTimes.slice(1).reduce((a, b) => a + b, 0) / (APPS - 1)).toFixed(2),
    };
    console.log(`${APPS} apps on one node version: slugs ${figures.slugs_mb} MB; image layers ${figures.image_store_without_stack_mb} MB besides the run stack's ${figures.run_stack_layer_mb} MB`);
    console.log(`  runtime layer ${figures.runtime_layer_mb} MB, stored ${runtimes.size === 1 ? 'once' : `${runtimes.size} times`}; slugs / layers = ${figures.slugs_over_layers}x`);
    console.log(`  making an image: the first ${figures.first_image_s} s (packs the run stack), the next ${figures.next_images_s} s each`);
    const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const out = join(PACKAGE_ROOT, 'bench', 'results', `images-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(out, JSON.stringify({ benchmark: 'ten apps on one node version: slugs against release image layers', machine, figures }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await t.close();
  }
}
