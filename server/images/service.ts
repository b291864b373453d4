/**
 * Release images for the registry endpoint and `releases:export`: the image of a release by tag (vN, latest = the
 * current release) or manifest digest, made the first time it is asked for (one build per release at a time in
 * this process) and recorded; blobs only of images of the app asked about. Also: pushing a current release's image
 * to an external registry, garbage collection after the slugs', and an app's disk use in images.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { App } from '../apps/service.js';
import type { Release, ReleaseService } from '../releases/service.js';
import type { SlugService } from '../releases/slugs.js';
import { notFound } from '../errors.js';
import { dataBlobStore, isDigest } from './blobs.js';
import { createImageBuilder, MANIFEST_MEDIA_TYPE } from './release-image.js';
import type { ImageStore } from './store.js';
import type { ImagePusher } from './push.js';

export interface ImageBlob {
  path: string;
  size: number;
  digest: string;
}

export function createImageService(deps: {
  dataDir: string; stacksDir: string; releases: ReleaseService; slugs: SlugService; imageStore: ImageStore;
  /** How long an unused blob is spared by garbage collection (an hour: one being made or reused now is not lost). */
  blobGraceMs: number;
  /** Where current releases' images are pushed (SLIPWAY_IMAGE_PUSH_URL), if anywhere. */
  pusher?: ImagePusher;
}) {
  const blobs = dataBlobStore(deps.dataDir);
  const builder = createImageBuilder({ dataDir: deps.dataDir, stacksDir: deps.stacksDir, blobs });
  const building = new Map<string, Promise<ImageBlob>>();

  async function make(release: Release): Promise<ImageBlob> {
    const known = await deps.imageStore.ofRelease(release.id);
    if (known && (await blobs.size(known.manifest_digest)) === known.manifest_size) {
      return { path: blobs.path(known.manifest_digest), size: known.manifest_size, digest: known.manifest_digest };
    }
    const slug = release.slug_id ? await deps.slugs.byId(release.slug_id) : undefined;
    if (!slug || slug.expired_at) throw notFound(`v${release.version} has no image: ${slug ? 'its slug was removed by garbage collection (SLIPWAY_KEEP_RELEASES)' : 'it has no slug'}.`);
    const built = await builder.build({
      appName: release.app_name, version: release.version, createdAt: release.created_at, processTypes: release.process_types,
      slugDigest: slug.digest, layers: slug.layers, slugFile: join(deps.dataDir, 'slugs', `${slug.digest}.tar.gz`),
    });
    await deps.imageStore.record(release.app_id, release.id, built.manifest, built.blobs);
    return { path: blobs.path(built.manifest.digest), size: built.manifest.size, digest: built.manifest.digest };
  }

  /** The image of a release (made on first use, one build per release at a time in this process). */
  function imageOf(release: Release): Promise<ImageBlob> {
    let pending = building.get(release.id);
    if (!pending) {
      pending = make(release).finally(() => building.delete(release.id));
      building.set(release.id, pending);
    }
    return pending;
  }

  /** The release a tag or digest names: vN, latest (the current release), or the digest of one of its manifests. */
  async function releaseOf(app: App, ref: string): Promise<Release> {
    if (ref === 'latest') {
      const current = await deps.releases.current(app);
      if (!current) throw notFound(`${app.name} has no current release.`);
      return current;
    }
    if (isDigest(ref)) {
      const id = await deps.imageStore.releaseWithManifest(app.id, ref);
      if (!id) throw notFound('No image of this app has that manifest.');
      return deps.releases.get(app, id);
    }
    if (!/^v\d{1,9}$/.test(ref)) throw notFound('A release image is tagged vN or latest.');
    return deps.releases.get(app, ref);
  }

  return {
    manifestMediaType: MANIFEST_MEDIA_TYPE,
    /** The manifest of the image ref names (made on first use). */
    async manifest(app: App, ref: string): Promise<ImageBlob & { version: number }> {
      const release = await releaseOf(app, ref);
      return { ...(await imageOf(release)), version: release.version };
    },
    /** A blob of one of the app's images; undefined for any other digest. */
    async blob(app: App, digest: string): Promise<ImageBlob | undefined> {
      if (!isDigest(digest) || !(await deps.imageStore.appUses(app.id, digest))) return undefined;
      const size = await blobs.size(digest);
      return size === undefined ? undefined : { path: blobs.path(digest), size, digest };
    },
    /**
     * Garbage collection after the slugs' (slug-gc.ts): the images of releases whose slug is gone are forgotten, and
     * blobs no recorded image uses are removed once an hour old (a layer being made or reused now is spared).
     */
    async collect(): Promise<{ forgotten: number; removedBytes: number }> {
      const forgotten = await deps.imageStore.forgetExpired();
      const removedBytes = await blobs.removeAllBut(await deps.imageStore.blobsInUse(), new Date(Date.now() - deps.blobGraceMs));
      return { forgotten, removedBytes };
    },
    /**
     * Pushes a release's image to the external registry as vN, and as latest while it is the current release;
     * undefined when no registry is configured or the release has no image.
     */
    async push(releaseId: string): Promise<{ sent: number; repository: string; tags: string[] } | undefined> {
      const release = await deps.releases.byId(releaseId);
      if (!deps.pusher || !release?.slug_id || release.status !== 'succeeded') return undefined;
      const m = await imageOf(release);
      const manifest = JSON.parse(await readFile(m.path, 'utf8')) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
      const tags = [`v${release.version}`, ...(release.current ? ['latest'] : [])];
      const pushed = await deps.pusher.push({
        app: release.app_name, tags, manifest: { path: m.path, digest: m.digest, mediaType: MANIFEST_MEDIA_TYPE },
        blobs: [manifest.config, ...manifest.layers].map((d) => ({ digest: d.digest, size: d.size, path: blobs.path(d.digest) })),
      });
      return { ...pushed, tags };
    },
    /** Bytes of the blobs the app's images use: its own, and those it shares with other apps (a runtime, the stack). */
    async diskUse(app: App): Promise<{ ownBytes: number; sharedBytes: number }> {
      let ownBytes = 0;
      let sharedBytes = 0;
      for (const b of await deps.imageStore.blobsOfApp(app.id)) {
        const size = (await blobs.size(b.digest)) ?? 0;
        if (b.shared) sharedBytes += size;
        else ownBytes += size;
      }
      return { ownBytes, sharedBytes };
    },
    /** The tags: vN of every release with a slug, and latest when there is a current release. */
    async tags(app: App): Promise<string[]> {
      const list = await deps.releases.list(app);
      const tags = list.filter((r) => r.slug_id).map((r) => `v${r.version}`);
      return list.some((r) => r.current) ? [...tags, 'latest'] : tags;
    },
  };
}

export type ImageService = ReturnType<typeof createImageService>;
