import type { Router } from 'express';
import { badRequest, notFound } from '../../errors.js';
import type { AppService } from '../../services/apps.js';
import { parseHostname, type DomainService } from '../../services/domains.js';
import { sendRange } from '../range.js';
import { serializeDomain, type UrlInfo } from '../serializers.js';
import { appOf, appRouter } from './apps.js';

/** Custom domains (Heroku's Domain resource). A change reaches the router through the app's change event. */
export function domainRoutes(deps: { apps: AppService; domains: DomainService; urls: UrlInfo }): Router {
  const r = appRouter(deps.apps);
  const out = (d: Parameters<typeof serializeDomain>[0]) => serializeDomain(d, deps.urls);

  r.get('/apps/:app/domains', async (req, res) => {
    sendRange(req, res, (await deps.domains.list(appOf(res))).map(out), ['id', 'hostname', 'created_at', 'updated_at'], 'hostname');
  });

  r.get('/apps/:app/domains/:domain', async (req, res) => {
    res.json(out(await deps.domains.get(appOf(res), req.params.domain)));
  });

  r.post('/apps/:app/domains', async (req, res) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Body must be {"hostname": "www.example.com"}.');
    res.status(201).json(out(await deps.domains.add(appOf(res), parseHostname(body.hostname))));
  });

  /** domains:update --cert: which SNI endpoint serves the name; none exists yet, so only null (none) is taken. */
  r.patch('/apps/:app/domains/:domain', async (req, res) => {
    const domain = await deps.domains.get(appOf(res), req.params.domain);
    const endpoint = req.body?.sni_endpoint;
    if (endpoint !== null && endpoint !== undefined) throw notFound("Couldn't find that SNI endpoint.");
    res.json(out(domain));
  });

  r.delete('/apps/:app/domains/:domain', async (req, res) => {
    res.json(out(await deps.domains.remove(appOf(res), req.params.domain)));
  });

  /** domains:clear (Heroku's CLI deletes one by one; this is ours). */
  r.delete('/apps/:app/domains', async (_req, res) => {
    await deps.domains.clear(appOf(res));
    res.json((await deps.domains.list(appOf(res))).map(out));
  });

  return r;
}
