import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, type Ctx } from '../context.js';

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }
interface Manifest { mediaType: string; config: Descriptor; layers: Descriptor[] }
interface Index { schemaVersion: 2; manifests: Descriptor[] }

const REF_NAME = 'org.opencontainers.image.ref.name';

async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Releases as OCI images: releases:export writes one as an OCI image layout, from the API's registry endpoint. */
export function registerImages(program: Command, ctx: Ctx): void {
  program
    .command('releases:export <release>')
    .description('write a release (vN, or latest) as an OCI image layout in DIR, tagged with its version (skopeo copy oci:DIR:vN ...)')
    .option(...appOption)
    .requiredOption('-o, --output <dir>', 'the OCI image layout directory (made if absent; other tags in it are kept)')
    .action(async (release: string, opts: { app?: string; output: string }) => {
      if (!/^(v?\d{1,9}|latest)$/.test(release)) throw new CliError('Name a release as vN (or latest).');
      const ref = release === 'latest' || release.startsWith('v') ? release : `v${release}`;
      const app = await ctx.app(opts);
      const api = await ctx.api();
      const blobsDir = join(opts.output, 'blobs', 'sha256');
      await mkdir(blobsDir, { recursive: true });
      /** Downloads one blob into the layout, refusing it unless its bytes have the digest (or, for the manifest, naming it). */
      const fetchBlob = async (path: string, want?: string): Promise<{ digest: string; size: number }> => {
        const tmp = join(blobsDir, `.download-${process.pid}`);
        try {
          const size = await api.download(path, tmp);
          const digest = await fileDigest(tmp);
          if (want && digest !== want) throw new CliError(`${path} did not have the digest it is named by (${digest}).`);
          await rename(tmp, join(blobsDir, digest.slice('sha256:'.length)));
          return { digest, size };
        } finally {
          await rm(tmp, { force: true });
        }
      };
      ctx.print(`Exporting ${app} ${ref} to ${opts.output}...`);
      const m = await fetchBlob(`/v2/${app}/manifests/${ref}`);
      const manifest = JSON.parse(await readFile(join(blobsDir, m.digest.slice('sha256:'.length)), 'utf8')) as Manifest;
      for (const d of [manifest.config, ...manifest.layers]) await fetchBlob(`/v2/${app}/blobs/${d.digest}`, d.digest);
      const tag = ref === 'latest' ? 'latest' : ref;
      const indexFile = join(opts.output, 'index.json');
      const index = await readFile(indexFile, 'utf8').then((t) => JSON.parse(t) as Index, () => ({ schemaVersion: 2, manifests: [] }) as Index);
      index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
      index.manifests.push({ mediaType: manifest.mediaType, digest: m.digest, size: m.size, annotations: { [REF_NAME]: tag } });
      await writeFile(join(opts.output, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await writeFile(indexFile, JSON.stringify(index));
      const bytes = manifest.layers.reduce((n, l) => n + l.size, 0);
      ctx.print(`Exported ${app} ${ref} as ${opts.output}:${tag} (${manifest.layers.length} layers, ${(bytes / 2 ** 20).toFixed(1)} MB; manifest ${m.digest})`);
    });
}
