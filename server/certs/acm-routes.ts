import type { Router } from 'express';
import { badRequest } from '../errors.js';
import type { AcmService } from './acm.js';
import type { AppService } from '../apps/service.js';
import { serializeApp, type UrlInfo } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';

/** Automatic certificates (Heroku's /apps/{app}/acm): certs:auto:enable, certs:auto:disable, certs:auto:refresh. */
export function acmRoutes(deps: { apps: AppService; acm: AcmService; urls: UrlInfo }): Router {
  const r = appRouter(deps.apps);
  const current = async (id: string, res: Parameters<typeof appOf>[0]) => serializeApp((await deps.apps.byId(id)) ?? appOf(res), deps.urls);

  r.post('/apps/:app/acm', async (_req, res) => {
    await deps.acm.enable(appOf(res));
    res.json(await current(appOf(res).id, res));
  });

  r.delete('/apps/:app/acm', async (_req, res) => {
    await deps.acm.disable(appOf(res));
    res.json(await current(appOf(res).id, res));
  });

  r.patch('/apps/:app/acm', async (req, res) => {
    if (req.body?.acm_refresh !== true) throw badRequest('Body must be {"acm_refresh": true}.');
    await deps.acm.refresh(appOf(res));
    res.json(await current(appOf(res).id, res));
  });

  return r;
}
