import type { Router } from 'express';
import { badRequest } from '../errors.js';
import type { AppService } from '../apps/service.js';
import { parseConfigPatch, type ConfigVarService } from './service.js';
import type { ReleaseService } from '../releases/service.js';
import { currentUser } from '../api/auth.js';
import { serializeRelease, type UrlInfo } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';

/** Config vars (a change makes a release) and rollback (a release of an old slug and config). */
export function configRoutes(deps: { apps: AppService; configVars: ConfigVarService; releases: ReleaseService; urls: UrlInfo }): Router {
  const r = appRouter(deps.apps);

  r.get('/apps/:app/config-vars', async (_req, res) => {
    res.json(await deps.configVars.get(appOf(res)));
  });

  r.patch('/apps/:app/config-vars', async (req, res) => {
    const { config, release } = await deps.configVars.update(appOf(res), parseConfigPatch(req.body), currentUser(res).id);
    res.set('X-Slipway-Release', String(release.version)).json(config);
  });

  r.post('/apps/:app/releases', async (req, res) => {
    const target = req.body?.release;
    if (typeof target !== 'string' && typeof target !== 'number') throw badRequest('Body must be {"release": "<release id or version>"} to roll back to it.');
    res.status(201).json(serializeRelease(await deps.releases.rollback(appOf(res), String(target), currentUser(res).id), deps.urls));
  });

  return r;
}
