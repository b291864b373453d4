/**
 * bench/images: disk for ten apps on the same node version. Ten apps push the same Node fixture (no dependencies,
 * the newest LTS), each with a file of its own, and run a web dyno each; then each release's image is made (what the
 * registry does on the first pull). Prints what ten slugs would take as files of their own (each holding its own
 * node: the sum of the slugs' sizes) against the layer blobs stored (the runtime once, an app layer each), how many
 * distinct runtime layers there are, the bytes the dynos' unpacked layers take on the host (the runtime unpacked
 * once), and the time to make the first and the next images. Writes bench/results/images-DATE.json. Never pass/fail.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

/** Bytes a tree takes on disk (du: hard links once). */
const treeBytes = async (dir: string) => Number((await promisify(execFile)('du', ['-sb', dir])).stdout.split('\t')[0]);

type Slug = { size: number; layers: { role: string; digest: string; size: number }[] };

/** Until the app answers through the router (its web dyno up: its layers unpacked). */
async function serving(t: Awaited<ReturnType<typeof startTestPlatform>>, app: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if ((await t.get(app).catch(() => ({ status: 0 }))).status === 200) return;
  }
  throw new Error(`${app} not serving`);
}

export async function benchImages(): Promise<void> {
  const t = await startTestPlatform({}, { dynos: true });
  try {
    const manifests: { layers: { digest: string; size: number }[] }[] = [];
    const slugs: Slug[] = [];
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
      await serving(t, app);
      const release = (await t.api('GET', `/apps/${app}/releases/v1`)).body as { slug: { id: string } };
      slugs.push((await t.api('GET', `/apps/${app}/slugs/${release.slug.id}`)).body as Slug);
      const started = process.hrtime.bigint();
      const res = await fetch(`${t.url}/v2/${app}/manifests/v1`, { headers: { authorization: `Bearer ${t.adminToken}` } });
      if (!res.ok) throw new Error(`${app}'s image: ${res.status} ${await res.text()}`);
      makeTimes.push(secondsSince(started));
      manifests.push((await res.json()) as { layers: { digest: string; size: number }[] });
    }
    const wholeSlugs = slugs.reduce((n, x) => n + x.size, 0);
    const stored = new Map(slugs.flatMap((x) => x.layers).map((l) => [l.digest, l.size]));
    const layerBytes = [...stored.values()].reduce((a, b) => a + b, 0);
    const runtimes = new Set(slugs.map((x) => x.layers.find((l) => l.role === 'runtime')?.digest));
    const runtime = slugs[0].layers.find((l) => l.role === 'runtime')!;
    const cache = join(t.dataDir, 'layer-cache');
    const unpacked = await readdir(cache);
    const runtimeDirs = unpacked.filter((n) => n.startsWith(runtime.digest.slice(7)));
    const unpackedRuntime = await treeBytes(join(cache, runtimeDirs[0]));
    const imageBytes = await dirBytes(join(t.dataDir, 'images', 'blobs', 'sha256'));
    const stack = manifests[0].layers[0];
    const figures = {
      apps: APPS, slugs_as_files_mb: +(wholeSlugs / MB).toFixed(1), slug_layers_stored_mb: +(layerBytes / MB).toFixed(1),
      files_over_layers: +(wholeSlugs / layerBytes).toFixed(1), runtime_layer_mb: +(runtime.size / MB).toFixed(1), distinct_runtime_layers: runtimes.size,
      unpacked_on_host_mb: +((await treeBytes(cache)) / MB).toFixed(1), unpacked_runtime_mb: +(unpackedRuntime / MB).toFixed(1), unpacked_runtime_dirs: runtimeDirs.length,
      unpacked_as_slugs_mb: +((APPS * unpackedRuntime + (await treeBytes(cache)) - unpackedRuntime) / MB).toFixed(1),
      run_stack_layer_mb: +(stack.size / MB).toFixed(1), image_store_mb: +(imageBytes / MB).toFixed(1),
      first_image_s: +makeTimes[0].toFixed(2), next_images_s: +(makeTimes.slice(1).reduce((a, b) => a + b, 0) / (APPS - 1)).toFixed(2),
    };
    console.log(`${APPS} apps on one node version: as slug files ${figures.slugs_as_files_mb} MB; as layers ${figures.slug_layers_stored_mb} MB stored (${figures.files_over_layers}x less)`);
    console.log(`  runtime layer ${figures.runtime_layer_mb} MB, stored ${runtimes.size === 1 ? 'once' : `${runtimes.size} times`}; unpacked for the dynos: ${figures.unpacked_on_host_mb} MB, the ${figures.unpacked_runtime_mb} MB runtime in ${runtimeDirs.length} dir (unpacked slugs would take ${figures.unpacked_as_slugs_mb} MB)`);
    console.log(`  images: the run stack layer ${figures.run_stack_layer_mb} MB once; the image store ${figures.image_store_mb} MB in all`);
    console.log(`  making an image: the first ${figures.first_image_s} s (packs the run stack), the next ${figures.next_images_s} s each`);
    const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
    const out = join(PACKAGE_ROOT, 'bench', 'results', `images-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(out, JSON.stringify({ benchmark: 'ten apps on one node version: slugs as files against slug layers, stored and unpacked', machine, figures }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await t.close();
  }
}
