import type { DiskGuard } from '../services/disk-guard.js';
import { Router, type Request, type Response } from 'express';
import type { UrlSigner } from '../services/url-signer.js';
import type { SourceStore } from './sources.js';
import { badRequest, invalidParams, notFound } from '../errors.js';
import { currentUser } from '../api/auth.js';
import type { AppService } from '../apps/service.js';
import type { BuildLog } from './build-log.js';
import type { BuildService } from './service.js';
import type { ReleaseService } from '../releases/service.js';
import type { SlugService } from '../releases/slugs.js';
import type { ImageService } from '../images/service.js';
import { sendRange } from '../api/range.js';
import { serializeBuild, serializeRelease, serializeSlug, type UrlInfo } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';
import type { Pipeline } from '../queue.js';

/** A build's or a release's output as plain text, live until its result (or the client goes). */
async function streamOutput(req: Request, res: Response, follow: (onLine: (line: string) => void, signal: AbortSignal) => Promise<unknown>, what: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  const abort = new AbortController();
  req.on('close', () => abort.abort());
  const result = await follow((line) => res.write(line + '\n'), abort.signal);
  if (!result && !abort.signal.aborted) res.write(`(no output is kept for ${what})\n`);
  res.end();
}

/** A release's output through its signed URL (output_stream_url), without a token: what `heroku releases:output` reads. */
export function releaseOutputRoutes(deps: { releases: ReleaseService; apps: AppService; releaseLog: BuildLog; signer: UrlSigner }): Router {
  const r = Router();
  r.get('/release-output/:app/:id', async (req, res) => {
    const path = `/release-output/${String(req.params.app)}/${String(req.params.id)}`;
    if (!deps.signer.verify(path, req.query)) throw notFound('This output URL is not valid (or has expired); ask the API for the release again.');
    const release = await deps.releases.byId(String(req.params.id));
    if (!release || release.app_name !== req.params.app) throw notFound("Couldn't find that release.");
    await streamOutput(req, res, (onLine, signal) => deps.releaseLog.follow(release.id, onLine, signal), 'this release');
  });
  return r;
}

/** Builds, releases and slugs of an app (read side). Mounted after the app access check. */
export function buildRoutes(deps: {
  apps: AppService; sources: SourceStore; pipeline: Pick<Pipeline, 'build'>; builds: BuildService; releases: ReleaseService; slugs: SlugService; images: ImageService;
  buildLog: BuildLog; releaseLog: BuildLog; urls: UrlInfo; disk: DiskGuard;
}): Router {
  const r = appRouter(deps.apps);

  // Slipway's: what the app keeps on the platform's disk (apps:info's Disk Usage).
  r.get('/apps/:app/disk-usage', async (_req, res) => {
    const app = appOf(res);
    const [slugs, images] = [await deps.slugs.diskUse(app), await deps.images.diskUse(app)];
    res.json({ repo_bytes: app.repo_size ?? 0, slugs: { count: slugs.count, bytes: slugs.bytes }, images: { own_bytes: images.ownBytes, shared_bytes: images.sharedBytes } });
  });

  r.get('/apps/:app/builds', async (req, res) => {
    const rows = (await deps.builds.list(appOf(res))).map((b) => serializeBuild(b, deps.urls));
    sendRange(req, res, rows as unknown as Record<string, unknown>[], ['id', 'created_at'], 'created_at');
  });

  // Builds from a tarball, for CI systems that do not push with git: POST /sources, PUT the tarball, POST /builds.
  r.post('/apps/:app/sources', async (_req, res) => {
    const app = appOf(res);
    await deps.disk.check('A source upload');
    const url = `${deps.urls.publicUrl}/apps/${app.name}/sources/${await deps.sources.create(app)}`;
    res.status(201).json({ source_blob: { get_url: url, put_url: url } });
  });

  r.put('/apps/:app/sources/:id', async (req, res) => {
    await deps.disk.check('A source upload');
    const size = await deps.sources.put(appOf(res), String(req.params.id), req);
    res.status(200).json({ size });
  });

  r.post('/apps/:app/builds', async (req, res) => {
    const app = appOf(res);
    await deps.disk.check('A new build');
    const blob = req.body?.source_blob;
    if (!blob || typeof blob !== 'object') throw badRequest('Body must be {"source_blob": {"url": …, "version": …}}.');
    const version = blob.version === undefined || blob.version === null ? null : String(blob.version);
    if (version !== null && !/^[A-Za-z0-9][\w.+\/-]{0,63}$/.test(version)) throw invalidParams('source_blob.version must be up to 64 letters, digits and ._+/-, starting with a letter or digit.');
    const file = await deps.sources.resolve(app, blob.url, deps.urls.publicUrl);
    const build = await deps.builds.create(app, currentUser(res).id, version, blob.url);
    await deps.pipeline.build({ buildId: build.id, sourceFile: file });
    res.status(201).json(serializeBuild(build, deps.urls));
  });

  r.get('/apps/:app/builds/:id', async (req, res) => {
    res.json(serializeBuild(await deps.builds.get(appOf(res), String(req.params.id)), deps.urls));
  });

  // The build's output as plain text: what there is so far, then live until the build ends.
  r.get('/apps/:app/builds/:id/output', async (req, res) => {
    const build = await deps.builds.get(appOf(res), String(req.params.id));
    await streamOutput(req, res, (onLine, signal) => deps.buildLog.follow(build.id, onLine, signal), 'this build');
  });

  r.get('/apps/:app/releases', async (req, res) => {
    const rows = (await deps.releases.list(appOf(res))).map((r) => serializeRelease(r, deps.urls));
    sendRange(req, res, rows as unknown as Record<string, unknown>[], ['id', 'version'], 'version');
  });

  r.get('/apps/:app/releases/:id', async (req, res) => {
    res.json(serializeRelease(await deps.releases.get(appOf(res), String(req.params.id)), deps.urls));
  });

  // The config vars a release was made with (heroku releases:info shows them): the app's secrets, to those with access.
  r.get('/apps/:app/releases/:id/config-vars', async (req, res) => {
    res.json((await deps.releases.get(appOf(res), String(req.params.id))).config);
  });

  // A release's output (its release phase and its deploy) as plain text: what there is, then live until it ends.
  r.get('/apps/:app/releases/:id/output', async (req, res) => {
    const release = await deps.releases.get(appOf(res), String(req.params.id));
    await streamOutput(req, res, (onLine, signal) => deps.releaseLog.follow(release.id, onLine, signal), 'this release');
  });

  r.get('/apps/:app/slugs/:id', async (req, res) => {
    res.json(serializeSlug(await deps.slugs.get(appOf(res), String(req.params.id))));
  });

  return r;
}
