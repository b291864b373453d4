import { Router } from 'express';
import type { AddonService } from './service.js';
import type { AppService } from '../apps/service.js';
import { currentUser } from '../api/auth.js';
import { serializeAddon } from './serializers.js';
import { appRouter } from '../apps/routes.js';

/**
 * PostgreSQL add-ons in the shapes of Heroku's data API (the Heroku CLI's pg commands send these to
 * HEROKU_DATA_HOST, which is this API): pg:info, pg:credentials:rotate.
 */
export function pgRoutes(deps: { apps: AppService; addons: AddonService }): Router {
  const r = appRouter(deps.apps);

  r.get('/client/v11/databases/:addon', async (req, res) => {
    const a = await deps.addons.database(currentUser(res), String(req.params.addon));
    const got = await deps.addons.pgInfo(a);
    res.json({
      addon_id: a.id, name: a.name, plan: a.plan, resource_url: await deps.addons.urlOf(a),
      info: got.info, num_connections: got.usage?.connections ?? null, num_tables: got.tables ?? null,
      num_bytes: got.usage?.sizeBytes ?? null, postgres_version: got.usage?.serverVersion ?? null,
      available: !got.problem, over_storage: got.overStorage, disk_full: got.diskFull, created_at: a.created_at,
    });
  });

  const rotate = async (req: { params: Record<string, string> }, res: Parameters<Parameters<Router['post']>[1]>[1]) => {
    const me = currentUser(res);
    const a = await deps.addons.rotate(me, await deps.addons.database(me, String(req.params.addon)));
    res.json({ message: 'Rotated the credentials; every attached app has the new URL.', addon: serializeAddon(a, await deps.addons.attachments(a)) });
  };
  r.post('/postgres/v0/databases/:addon/credentials_rotation', rotate);
  r.post('/postgres/v0/databases/:addon/credentials/default/credentials_rotation', rotate);
  return r;
}
