import type { Router } from 'express';
import { badRequest, notFound } from '../errors.js';
import type { App, AppService } from './service.js';
import { appOf, appRouter } from './routes.js';

/** The app features Slipway has (Heroku's /apps/{app}/features shape; `features:enable|disable` of both CLIs). */
export const FEATURES = [
  { name: 'https-only', column: 'https_only', description: 'Redirect plain HTTP requests to https (301 for GET and HEAD, 308 otherwise)' },
  { name: 'hsts', column: 'hsts', description: 'Send Strict-Transport-Security (max-age one year) on responses over TLS' },
] as const;

type Feature = (typeof FEATURES)[number];

const serialize = (app: App, f: Feature) => ({
  id: f.name, name: f.name, display_name: f.name, description: f.description, enabled: app[f.column], state: 'general', kind: 'app',
  doc_url: '', feedback_email: '', created_at: app.created_at, updated_at: app.updated_at,
});

export function featureRoutes(deps: { apps: AppService }): Router {
  const r = appRouter(deps.apps);
  const feature = (name: string): Feature => {
    const f = FEATURES.find((x) => x.name === name);
    if (!f) throw notFound(`Couldn't find that feature (${name.slice(0, 60)}); there are ${FEATURES.map((x) => x.name).join(', ')}.`);
    return f;
  };

  r.get('/apps/:app/features', (_req, res) => {
    res.json(FEATURES.map((f) => serialize(appOf(res), f)));
  });

  r.get('/apps/:app/features/:feature', (req, res) => {
    res.json(serialize(appOf(res), feature(String(req.params.feature))));
  });

  r.patch('/apps/:app/features/:feature', async (req, res) => {
    const f = feature(String(req.params.feature));
    const enabled = req.body?.enabled;
    if (typeof enabled !== 'boolean') throw badRequest('Body must be {"enabled": true} or {"enabled": false}.');
    await deps.apps.setFeature(appOf(res), f.column, enabled);
    res.json(serialize({ ...appOf(res), [f.column]: enabled }, f));
  });

  return r;
}
