import { Router, type Response } from 'express';
import { badRequest, forbidden } from '../errors.js';
import type { App, AppService } from './service.js';
import type { CollaboratorService } from './collaborators.js';
import { currentUser } from '../api/auth.js';
import { sendRange } from '../api/range.js';
import { serializeApp, serializeCollaborator, type UrlInfo } from '../api/serializers.js';

export const appOf = (res: Response): App => {
  const app = res.locals.app as App | undefined;
  if (!app) throw new Error('route has no :app access check'); // a programming error, never a user's
  return app;
};

/**
 * Every router with /apps/:app/… routes is made here: the one access check runs for each :app, and
 * unknown or foreign apps are 404. (express runs param handlers per router, so each needs its own.)
 */
export function appRouter(apps: AppService): Router {
  const r = Router();
  r.param('app', async (_req, res, next, idOrName: string) => {
    res.locals.app = await apps.get(currentUser(res), idOrName);
    next();
  });
  return r;
}

/**
 * What an app's dynos may reach outside the platform: anyone with access to the app reads it, an administrator
 * (who may not be a collaborator: an operator's setting) reads and sets it on any app. Not under appRouter's
 * access check, which knows collaborators only.
 */
export function egressRoutes(apps: AppService): Router {
  const r = Router();
  r.get('/apps/:target/egress', async (req, res) => {
    res.json((await apps.get(currentUser(res), String(req.params.target), { operator: true })).egress);
  });
  r.put('/apps/:target/egress', async (req, res) => {
    const me = currentUser(res);
    const app = await apps.get(me, String(req.params.target), { operator: true });
    if (!me.is_admin) throw forbidden('Only an administrator can set an egress policy.');
    res.json((await apps.setEgress(me, app, req.body)).egress);
  });
  return r;
}

/** Apps and collaborators. Expects requireToken in front. */
export function appRoutes(apps: AppService, collaborators: CollaboratorService, urls: UrlInfo): Router {
  const r = appRouter(apps);
  const out = (app: App) => serializeApp(app, urls);
  const list = async (_req: unknown, res: Response) => (await apps.list(currentUser(res))).map(out);

  r.get(['/apps', '/users/~/apps'], async (req, res) => sendRange(req, res, await list(req, res), ['id', 'name', 'created_at', 'updated_at'], 'name'));

  r.post('/apps', async (req, res) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Body must be a JSON object.');
    const app = await apps.create(currentUser(res), { name: body.name });
    res.status(201).json(out(app));
  });

  r.get('/apps/:app', async (_req, res) => {
    const app = appOf(res);
    res.json(out(app));
  });

  r.patch('/apps/:app', async (req, res) => {
    const body = req.body ?? {};
    res.json(out(await apps.update(currentUser(res), appOf(res), { name: body.name, maintenance: body.maintenance })));
  });

  r.delete('/apps/:app', async (_req, res) => {
    res.json(out(await apps.destroy(currentUser(res), appOf(res))));
  });

  r.get('/apps/:app/collaborators', async (_req, res) => {
    res.json((await collaborators.list(appOf(res))).map(serializeCollaborator));
  });

  r.post('/apps/:app/collaborators', async (req, res) => {
    apps.requireOwner(currentUser(res), appOf(res), 'add collaborators');
    const c = await collaborators.add(appOf(res), req.body?.user);
    res.status(201).json(serializeCollaborator(c));
  });

  r.delete('/apps/:app/collaborators/:who', async (req, res) => {
    const me = currentUser(res);
    const who = String(req.params.who);
    // The owner removes anyone; a collaborator may remove themselves.
    if (who.toLowerCase() !== me.email && who !== me.id) apps.requireOwner(me, appOf(res), 'remove collaborators');
    res.json(serializeCollaborator(await collaborators.remove(appOf(res), who)));
  });


  // What the Heroku CLI asks for and Slipway has none of.
  r.get('/apps/:app/pipeline-couplings', (_req, res) => {
    res.status(404).json({ id: 'not_found', message: "Couldn't find that pipeline coupling." });
  });

  return r;
}
