import type { Router } from 'express';
import { badRequest } from '../errors.js';
import type { SniEndpointService } from '../certs/sni-endpoints.js';
import type { AppService } from '../apps/service.js';
import { parseHostname, type DomainService } from './service.js';
import { sendRange } from '../api/range.js';
import { serializeDomain, type UrlInfo } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';

/** Custom domains (Heroku's Domain resource). A change reaches the router through the app's change event. */
export function domainRoutes(deps: { apps: AppService; domains: DomainService; sniEndpoints: SniEndpointService; urls: UrlInfo }): Router {
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

  /** domains:update --cert NAME: which of the app's certificates serves the name (null: none, by coverage). */
  r.patch('/apps/:app/domains/:domain', async (req, res) => {
    const app = appOf(res);
    const name = req.body?.sni_endpoint;
    if (name !== null && typeof name !== 'string') throw badRequest('Body must be {"sni_endpoint": NAME} or {"sni_endpoint": null}.');
    const endpoint = name === null ? null : await deps.sniEndpoints.get(app, name);
    res.json(out(await deps.domains.setSniEndpoint(app, req.params.domain, endpoint)));
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
