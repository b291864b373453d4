import type { Router } from 'express';
import { badRequest } from '../errors.js';
import type { AppService } from '../apps/service.js';
import type { SniEndpointService } from './sni-endpoints.js';
import { serializeSniEndpoint } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';

/**
 * Certificates of an app's custom domains (Heroku's SNI endpoints): `certs:add`, `certs`, `certs:info`,
 * `certs:update`, `certs:remove` of both CLIs. A bad certificate or key is a 422 naming the problem; the private
 * key is never in a response.
 */
export function certRoutes(deps: { apps: AppService; sniEndpoints: SniEndpointService }): Router {
  const r = appRouter(deps.apps);
  const body = (raw: unknown) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Body must be {"certificate_chain": PEM, "private_key": PEM}.');
    return raw as { certificate_chain?: unknown; private_key?: unknown };
  };

  r.get('/apps/:app/sni-endpoints', async (_req, res) => {
    res.json((await deps.sniEndpoints.list(appOf(res))).map(serializeSniEndpoint));
  });

  r.get('/apps/:app/sni-endpoints/:endpoint', async (req, res) => {
    res.json(serializeSniEndpoint(await deps.sniEndpoints.get(appOf(res), String(req.params.endpoint))));
  });

  r.post('/apps/:app/sni-endpoints', async (req, res) => {
    res.status(201).json(serializeSniEndpoint(await deps.sniEndpoints.create(appOf(res), body(req.body))));
  });

  r.patch('/apps/:app/sni-endpoints/:endpoint', async (req, res) => {
    res.json(serializeSniEndpoint(await deps.sniEndpoints.update(appOf(res), String(req.params.endpoint), body(req.body))));
  });

  r.delete('/apps/:app/sni-endpoints/:endpoint', async (req, res) => {
    res.json(serializeSniEndpoint(await deps.sniEndpoints.remove(appOf(res), String(req.params.endpoint))));
  });

  return r;
}
