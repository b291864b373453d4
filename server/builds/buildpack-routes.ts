import { Router } from 'express';
import { notFound } from '../errors.js';
import type { AppService } from '../apps/service.js';
import { installationsOf, type BuildpackInstallationService } from './buildpack-installations.js';
import { builtinName } from '../../buildpacks/index.js';
import { appOf, appRouter } from '../apps/routes.js';

/** An app's buildpacks (Heroku's buildpack installations). Expects requireToken in front. */
export function buildpackRoutes(deps: { apps: AppService; buildpackInstallations: BuildpackInstallationService }): Router {
  const r = appRouter(deps.apps);
  r.get('/apps/:app/buildpack-installations', (_req, res) => void res.json(installationsOf(appOf(res))));
  r.put('/apps/:app/buildpack-installations', async (req, res) => {
    const app = appOf(res);
    const urls = await deps.buildpackInstallations.set(app, req.body);
    res.json(installationsOf({ ...app, buildpacks: urls }));
  });
  return r;
}

/**
 * The buildpack registry's lookup, for the built-ins only (public, as Heroku's registry is): the Heroku CLI turns
 * `buildpacks:set heroku/nodejs` into a URL through it, with HEROKU_BUILDPACK_REGISTRY_URL=PUBLIC_URL/buildpack-registry.
 */
export function buildpackRegistryRoutes(): Router {
  const r = Router();
  const lookup = (name: string) => {
    const builtin = builtinName(name);
    if (!builtin) throw notFound(`${name.slice(0, 100)} is not in this platform's buildpack registry (its built-ins: heroku/nodejs, heroku/python, heroku/static, heroku/procfile).`);
    return { name: `heroku/${builtin}`, namespace: 'heroku', blob_url: `urn:buildpack:heroku/${builtin}`, description: `Slipway's built-in ${builtin} buildpack` };
  };
  r.get('/buildpack-registry/buildpacks/:name', (req, res) => void res.json(lookup(String(req.params.name))));
  r.get('/buildpack-registry/buildpacks/:namespace/:name', (req, res) => void res.json(lookup(`${String(req.params.namespace)}/${String(req.params.name)}`)));
  return r;
}
