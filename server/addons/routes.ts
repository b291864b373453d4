import { Router } from 'express';
import type { Addon } from './store.js';
import { serviceNamed } from './plans.js';
import { badRequest } from '../errors.js';
import type { AddonService } from './service.js';
import type { AppService } from '../apps/service.js';
import type { User } from '../accounts/users.js';
import { currentUser } from '../api/auth.js';
import { serializeAddon, serializeAttachment, serializeDestroyed } from './serializers.js';
import { appOf, appRouter } from '../apps/routes.js';

/**
 * Add-ons and attachments in Heroku's shapes: `addons`, `addons:create|info|destroy|attach|detach` of both CLIs,
 * and the resolve actions the Heroku CLI finds an add-on or attachment by.
 */
export function addonRoutes(deps: { apps: AppService; addons: AddonService }): Router {
  const r = appRouter(deps.apps);
  const { addons } = deps;
  const full = async (a: Addon) => serializeAddon(a, await addons.attachments(a));
  const str = (v: unknown, what: string) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw badRequest(`Give ${what} as a string.`);
    return v;
  };

  r.get('/apps/:app/addons', async (_req, res) => {
    res.json(await Promise.all((await addons.listForApp(appOf(res))).map(full)));
  });

  r.post('/apps/:app/addons', async (req, res) => {
    const body = (req.body ?? {}) as { plan?: unknown; name?: unknown; attachment?: { name?: unknown } };
    res.status(201).json(await full(await addons.create(currentUser(res), appOf(res), body)));
  });

  r.get('/apps/:app/addons/:addon', async (req, res) => {
    res.json(await full(await addons.getForApp(appOf(res), String(req.params.addon))));
  });

  r.delete('/apps/:app/addons/:addon', async (req, res) => {
    const a = await addons.getForApp(appOf(res), String(req.params.addon));
    const attachments = await addons.attachments(a);
    res.json(serializeDestroyed(await addons.destroy(currentUser(res), a), attachments));
  });

  r.get('/addons/:addon', async (req, res) => {
    res.json(await full(await addons.get(currentUser(res), String(req.params.addon))));
  });

  r.get('/addons/:addon/addon-attachments', async (req, res) => {
    const a = await addons.get(currentUser(res), String(req.params.addon));
    res.json((await addons.attachments(a)).map(serializeAttachment));
  });

  r.get('/apps/:app/addon-attachments', async (_req, res) => {
    res.json((await addons.attachmentsOfApp(appOf(res))).map(serializeAttachment));
  });

  r.get('/apps/:app/addon-attachments/:attachment', async (req, res) => {
    res.json(serializeAttachment(await addons.attachment(currentUser(res), String(req.params.attachment), appOf(res))));
  });

  r.get('/addon-attachments/:attachment', async (req, res) => {
    res.json(serializeAttachment(await addons.attachment(currentUser(res), String(req.params.attachment))));
  });

  // Every attachment on every app the user has access to (the Heroku CLI's `addons` reads it).
  r.get('/addon-attachments', async (_req, res) => {
    const all = [];
    for (const app of await deps.apps.list(currentUser(res))) all.push(...(await addons.attachmentsOfApp(app)));
    res.json(all.map(serializeAttachment));
  });

  r.post('/addon-attachments', async (req, res) => {
    const body = (req.body ?? {}) as { addon?: unknown; app?: unknown; name?: unknown };
    const me = currentUser(res);
    const a = await addons.get(me, str(body.addon, 'the add-on (addon)'));
    const target = await deps.apps.get(me, str(body.app, 'the app to attach it to (app)'));
    res.status(201).json(serializeAttachment(await addons.attach(me, a, target, body.name)));
  });

  r.delete('/addon-attachments/:attachment', async (req, res) => {
    const me = currentUser(res);
    res.json(serializeAttachment(await addons.detach(me, await addons.attachment(me, String(req.params.attachment)))));
  });

  // The Heroku CLI's lookups: every match (it picks one, or reports several), 404 with the resource it looked for.
  r.post('/actions/addons/resolve', async (req, res) => {
    const body = (req.body ?? {}) as { addon?: unknown; app?: unknown; addon_service?: unknown };
    const found = await resolveAddon(currentUser(res), str(body.addon, 'the add-on (addon)'), body.app, body.addon_service);
    if (found.length === 0) return void res.status(404).json({ id: 'not_found', resource: 'add_on', message: "Couldn't find that add-on." });
    res.json(await Promise.all(found.map(full)));
  });

  r.post('/actions/addon-attachments/resolve', async (req, res) => {
    const body = (req.body ?? {}) as { addon_attachment?: unknown; app?: unknown; addon_service?: unknown };
    const me = currentUser(res);
    const ident = str(body.addon_attachment, 'the attachment (addon_attachment)');
    const app = typeof body.app === 'string' && body.app ? await deps.apps.get(me, body.app) : undefined;
    const service = typeof body.addon_service === 'string' ? serviceNamed(body.addon_service) : undefined;
    const all = app ? await addons.attachmentsOfApp(app) : await addons.attachment(me, ident).then((t) => [t], () => []);
    const found = all.filter((t) => (t.name === ident.toUpperCase() || t.id === ident || t.addon_name === ident) && (!service || t.service === service));
    if (found.length === 0) return void res.status(404).json({ id: 'not_found', resource: 'add_on attachment', message: "Couldn't find that add-on attachment." });
    res.json(found.map(serializeAttachment));
  });

  async function resolveAddon(me: User, ident: string, appName: unknown, serviceName: unknown): Promise<Addon[]> {
    const service = typeof serviceName === 'string' ? serviceNamed(serviceName) : undefined;
    const [appPart, addonPart] = ident.includes('::') ? ident.split('::', 2) : [typeof appName === 'string' ? appName : undefined, ident];
    let found: Addon[];
    if (appPart) {
      const app = await deps.apps.get(me, appPart);
      found = await addons.getForApp(app, addonPart).then((a) => [a], () => []);
    } else {
      found = await addons.get(me, addonPart).then((a) => [a], (e: { status?: number }) => {
        if (e.status === 404) return [];
        throw e;
      });
    }
    return found.filter((a) => !service || a.service === service);
  }

  // Every add-on of every app the user has access to (`addons --all`).
  r.get('/addons', async (_req, res) => {
    const me = currentUser(res);
    const seen = new Map<string, Addon>();
    for (const app of await deps.apps.list(me)) for (const a of await addons.listForApp(app)) seen.set(a.id, a);
    res.json(await Promise.all([...seen.values()].map(full)));
  });
  return r;
}
