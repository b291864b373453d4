/**
 * A release as an OCI image: the run stack as the base layer (one per stack, shared by every app), the slug's /app as
 * runtime, dependencies and app layers (owned by the dyno user), and a small launch layer (the launcher and the
 * release's process types), with an image config that names the process types in labels and runs the launcher: `IMAGE web` runs the web
 * command with $PORT (5000 unless given), as a dyno would. Config vars are not in the image: they are given at run
 * time (`-e`), as Heroku gives them to dynos. Blobs are made once and found again (layers.ts); the manifest's
 * digest and the blobs an image uses are recorded per release, which is what the registry serves from.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DYNO_GID, DYNO_UID, stackName, stackPath } from '../../runner/index.js';
import { unpackSlugFile, PIGZ } from '../../runner/index.js';
import { DYNO_PATH } from '../../runner/index.js';
import { layerRecordsDir, type BlobStore, type Descriptor } from './blobs.js';
import { cachedLayer, cachedLayerIfKnown, packLayer, recordLayer, type Layer } from './layers.js';
import { LAYER_ROLES, packSlugLayers, type LayerRole, type SlugLayer } from './slug-layers.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

export interface ImageSource {
  appName: string;
  version: number;
  createdAt: Date;
  /** The slug's file, for a slug made before layers (one tar.gz). */
  slugFile: string;
  /** The slug's layers, lowest first; null for a slug made before layers. */
  layers: SlugLayer[] | null;
  slugDigest: string;
  processTypes: Record<string, string>;
}

export interface BuiltImage {
  manifest: Descriptor;
  /** Every blob the image uses: the manifest, its config and its layers. */
  blobs: string[];
}

const LAUNCHER = `#!/bin/bash
# Slipway's launcher. IMAGE TYPE runs the release's TYPE process (its command in /slipway/processes/TYPE) as a
# dyno would: in /app, .profile.d sourced, PORT 5000 unless given. IMAGE COMMAND ARGS... runs that command instead.
export HOME=/app PORT="\${PORT:-5000}"
cd /app || exit 1
for f in /app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done
type="\${1:-web}"
if [ $# -le 1 ] && [ -f "/slipway/processes/$type" ]; then
  eval "$(cat "/slipway/processes/$type")"
  exit $?
fi
exec "$@"
`;

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

export function createImageBuilder(o: { dataDir: string; stacksDir: string; blobs: BlobStore }) {
  const records = layerRecordsDir(o.dataDir);

  async function stackLayer(): Promise<Layer> {
    const dir = stackPath(o.stacksDir, 'run');
    if (!existsSync(join(dir, 'etc', 'passwd'))) throw new Error(`the run stack ${stackName('run')} is not built: run npm run setup (or slipway stack:build)`);
    return cachedLayer(o.blobs, records, `stack-${stackName('run')}`, () => packLayer(o.blobs, dir, ['.']));
  }

  /** fn with a temp dir of its own, removed after. */
  async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-layer-'));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The slug's layers: a slug made as layers has them; one made before (a single tar.gz) is unpacked once and split
   * by the same rule (slug-layers.ts), recorded under its digest.
   */
  async function appLayers(s: ImageSource): Promise<Layer[]> {
    if (s.layers) {
      for (const l of s.layers) if ((await o.blobs.size(l.digest)) !== l.size) throw new Error(`a layer of the slug is missing from the store: ${l.digest}`);
      await Promise.all(s.layers.map((l) => o.blobs.touch(l.digest)));
      return s.layers;
    }
    const record = (role: LayerRole) => `slug-${s.slugDigest}-${role}`;
    const known = await Promise.all(LAYER_ROLES.map((r) => cachedLayerIfKnown(o.blobs, records, record(r))));
    if (known.every((k) => k !== undefined)) return known.filter((k): k is Layer => k !== null);
    return inTemp(async (dir) => {
      await unpackSlugFile(s.slugFile, dir, PIGZ);
      const max = Number.MAX_SAFE_INTEGER;
      const { layers } = await packSlugLayers({ appDir: dir, blobs: o.blobs, recordsDir: records, maxBytes: max, unpackedMax: max });
      for (const r of LAYER_ROLES) await recordLayer(records, record(r), layers.find((l) => l.role === r) ?? null);
      return layers;
    });
  }

  function launchLayer(types: Record<string, string>): Promise<Layer> {
    const names = Object.keys(types).sort();
    const key = hashOf(JSON.stringify(names.map((n) => [n, types[n]])) + LAUNCHER);
    return cachedLayer(o.blobs, records, `launch-${key}`, () => inTemp(async (dir) => {
      await mkdir(join(dir, 'slipway', 'processes'), { recursive: true, mode: 0o755 });
      await writeFile(join(dir, 'slipway', 'launcher'), LAUNCHER);
      await chmod(join(dir, 'slipway', 'launcher'), 0o755);
      for (const n of names) await writeFile(join(dir, 'slipway', 'processes', n), `${types[n]}\n`, { mode: 0o644 });
      return packLayer(o.blobs, dir, ['slipway'], { owner: { uid: 0, gid: 0 } });
    }));
  }

  return {
    async build(s: ImageSource): Promise<BuiltImage> {
      const layers = [await stackLayer(), ...(await appLayers(s)), await launchLayer(s.processTypes)];
      const labels: Record<string, string> = { 'io.slipway.app': s.appName, 'io.slipway.release': `v${s.version}`, 'io.slipway.slug': `sha256:${s.slugDigest}` };
      for (const [type, command] of Object.entries(s.processTypes)) labels[`io.slipway.process.${type}`] = command;
      const config = {
        created: s.createdAt.toISOString(), architecture: 'amd64', os: 'linux',
        config: {
          User: `${DYNO_UID}:${DYNO_GID}`, WorkingDir: '/app', Entrypoint: ['/slipway/launcher'], Cmd: ['web'], Labels: labels,
          Env: [`PATH=${DYNO_PATH}`, 'HOME=/app', 'LANG=C.UTF-8'],
        },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history: layers.map((l, i) => ({ created_by: i === 0 ? `slipway: run stack ${stackName('run')}` : i === layers.length - 1 ? 'slipway: launcher and process types' : `slipway: ${s.appName} v${s.version} /app` })),
      };
      const configBlob = await o.blobs.putBytes(Buffer.from(JSON.stringify(config)), CONFIG_MEDIA_TYPE);
      const manifest = {
        schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPE, config: configBlob,
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      };
      const m = await o.blobs.putBytes(Buffer.from(JSON.stringify(manifest)), MANIFEST_MEDIA_TYPE);
      return { manifest: m, blobs: [m.digest, configBlob.digest, ...layers.map((l) => l.digest)] };
    },
  };
}

export type ImageBuilder = ReturnType<typeof createImageBuilder>;
