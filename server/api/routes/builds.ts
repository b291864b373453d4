import type { Router } from 'express';
import type { AppService } from '../../services/apps.js';
import type { BuildLog } from '../../builds/build-log.js';
import type { BuildService } from '../../services/builds.js';
import type { ReleaseService } from '../../services/releases.js';
import type { SlugService } from '../../services/slugs.js';
import { sendRange } from '../range.js';
import { serializeBuild, serializeRelease, serializeSlug, type UrlInfo } from '../serializers.js';
import { appOf, appRouter } from './apps.js';

/** Builds, releases and slugs of an app (read side). Mounted after the app access check. */
export function buildRoutes(deps: { apps: AppService; builds: BuildService; releases: ReleaseService; slugs: SlugService; buildLog: BuildLog; urls: UrlInfo }): Router {
  const r = appRouter(deps.apps);

  r.get('/apps/:app/builds', async (req, res) => {
    const rows = (await deps.builds.list(appOf(res))).map((b) => serializeBuild(b, deps.urls));
    sendRange(req, res, rows as unknown as Record<string, unknown>[], ['id', 'created_at'], 'created_at');
  });

  r.get('/apps/:app/builds/:id', async (req, res) => {
    res.json(serializeBuild(await deps.builds.get(appOf(res), String(req.params.id)), deps.urls));
  });

  // The build's output as plain text: what there is so far, then live until the build ends.
  r.get('/apps/:app/builds/:id/output', async (req, res) => {
    const build = await deps.builds.get(appOf(res), String(req.params.id));
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    const result = await deps.buildLog.follow(build.id, (line) => res.write(line + '\n'), abort.signal);
    if (!result && !abort.signal.aborted) res.write('(no output is kept for this build)\n');
    res.end();
  });

  r.get('/apps/:app/releases', async (req, res) => {
    const rows = (await deps.releases.list(appOf(res))).map(serializeRelease);
    sendRange(req, res, rows as unknown as Record<string, unknown>[], ['id', 'version'], 'version');
  });

  r.get('/apps/:app/releases/:id', async (req, res) => {
    res.json(serializeRelease(await deps.releases.get(appOf(res), String(req.params.id))));
  });

  r.get('/apps/:app/slugs/:id', async (req, res) => {
    res.json(serializeSlug(await deps.slugs.get(appOf(res), String(req.params.id))));
  });

  return r;
}
