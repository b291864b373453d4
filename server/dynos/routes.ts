import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { badRequest, invalidParams, notFound, unavailable } from '../errors.js';
import { parseLogSession, type LogSessions } from '../logs/log-sessions.js';
import type { App, AppService } from '../apps/service.js';
import { parseFormationUpdate, parseOneOff, type DynoService } from './service.js';
import type { OneOffStore } from './one-off.js';
import type { AgentRegistry } from '../plane/agents.js';
import { serializeDyno, serializeDynoSize, serializeFormation, type UrlInfo } from '../api/serializers.js';
import { appOf, appRouter } from '../apps/routes.js';
import { currentUser } from '../api/auth.js';

/** Formation (scaling), dynos (state, figures, restart) and log sessions. */
export function dynoRoutes(deps: {
  apps: AppService; dynos: DynoService; agents: AgentRegistry; oneOffs: OneOffStore; logSessions: LogSessions; urls: UrlInfo;
}): Router {
  const r = appRouter(deps.apps);

  r.get('/dyno-sizes', (_req, res) => void res.json(deps.dynos.sizes().map(serializeDynoSize)));

  r.get('/apps/:app/formation', async (_req, res) => {
    res.json((await deps.dynos.formation(appOf(res))).map(serializeFormation));
  });
  r.get('/apps/:app/formation/:type', async (req, res) => {
    res.json(serializeFormation(await deps.dynos.formationOf(appOf(res), String(req.params.type))));
  });
  r.patch('/apps/:app/formation', async (req, res) => {
    const updates = req.body?.updates;
    if (!Array.isArray(updates)) throw badRequest('Body must be {"updates": [{"type": "web", "quantity": 2, "size": "standard-1x"}, …]}.');
    if (updates.length > 50) throw invalidParams('At most 50 updates at once.');
    const rows = await deps.dynos.updateFormation(appOf(res), updates.map((u: unknown) => parseFormationUpdate(u)), currentUser(res));
    res.json(rows.map(serializeFormation));
  });
  r.patch('/apps/:app/formation/:type', async (req, res) => {
    const [row] = await deps.dynos.updateFormation(appOf(res), [parseFormationUpdate(req.body ?? {}, String(req.params.type))], currentUser(res));
    res.json(serializeFormation(row));
  });

  r.get('/apps/:app/dynos', async (_req, res) => {
    res.json((await deps.dynos.list(appOf(res))).map(serializeDyno));
  });
  r.get('/apps/:app/dynos/:dyno', async (req, res) => {
    res.json(serializeDyno(await deps.dynos.get(appOf(res), String(req.params.dyno))));
  });
  /** A one-off dyno; attached ones get an attach_url on the agent's rendezvous port. */
  r.post('/apps/:app/dynos', async (req, res) => {
    const app = appOf(res);
    const input = parseOneOff(req.body);
    let attachUrl: string | null = null;
    const agent = await deps.agents.pickForOneOff();
    if (!agent) throw unavailable('No agent is running to take the dyno; is `slipway up` running?');
    const secret = input.attach ? randomBytes(24).toString('base64url') : undefined;
    if (input.attach) {
      if (!agent.rendezvousPort) throw unavailable('The agent takes no attached dynos.');
      attachUrl = `rendezvous://${agent.address}:${agent.rendezvousPort}/${secret}`;
    }
    const dyno = await deps.dynos.createOneOff(app, input, { agentId: agent.id, prepare: (id) => deps.oneOffs.save(id, { env: input.env, tty: input.tty, secret }) }, currentUser(res));
    res.status(201).json({ ...serializeDyno(dyno), attach_url: attachUrl });
  });

  r.delete('/apps/:app/dynos', async (_req, res) => {
    await deps.dynos.restart(appOf(res));
    res.status(202).json({});
  });
  /** web.1 names one dyno; web (or run) all dynos of the type. 404 when there is no such dyno or type. */
  const target = async (app: App, raw: string): Promise<{ name: string } | { type: string }> => {
    const m = /^([a-z0-9]+(?:-[a-z0-9]+)*)(?:\.(\d{1,4}))?$/.exec(raw);
    if (!m) throw notFound(`Couldn't find that dyno (${raw.slice(0, 60)}).`);
    if (m[2]) {
      await deps.dynos.get(app, raw);
      return { name: raw };
    }
    if (m[1] !== 'run') await deps.dynos.formationOf(app, m[1]);
    return { type: m[1] };
  };
  /** Restarts one dyno or a type (the Heroku CLI's ps:restart web.1 / web). */
  r.delete('/apps/:app/dynos/:dyno', async (req, res) => {
    const app = appOf(res);
    await deps.dynos.restart(app, await target(app, String(req.params.dyno)));
    res.status(202).json({});
  });
  r.post('/apps/:app/dynos/:dyno/actions/stop', async (req, res) => {
    const app = appOf(res);
    await deps.dynos.stop(app, await target(app, String(req.params.dyno)));
    res.status(202).json({});
  });
  // The Heroku CLI's ps:restart -p TYPE and ps:stop -p TYPE name a process type under formations (plural).
  const typeOnly = async (app: App, raw: string) => {
    if (raw.includes('.')) throw notFound(`Couldn't find that process type (${raw.slice(0, 60)}).`);
    return target(app, raw);
  };
  r.delete('/apps/:app/formations/:type', async (req, res) => {
    const app = appOf(res);
    await deps.dynos.restart(app, await typeOnly(app, String(req.params.type)));
    res.status(202).json({});
  });
  r.post('/apps/:app/formations/:type/actions/stop', async (req, res) => {
    const app = appOf(res);
    await deps.dynos.stop(app, await typeOnly(app, String(req.params.type)));
    res.status(202).json({});
  });

  r.post('/apps/:app/log-sessions', async (req, res) => {
    const app = appOf(res);
    const token = await deps.logSessions.create({ appId: app.id, ...parseLogSession(req.body) });
    const now = new Date().toISOString();
    res.status(201).json({ id: token.slice(0, 16), logplex_url: `${deps.urls.publicUrl}/log-sessions/${token}`, created_at: now, updated_at: now });
  });

  return r;
}

/**
 * GET /log-sessions/TOKEN: the token (from POST /apps/{app}/log-sessions, 5 minutes, as Heroku's logplex URLs)
 * is the credential, so `curl` and the Heroku CLI can read it without the API token. It is good for one read. Plain text lines, or Server-
 * Sent Events when asked; with tail it follows until the client goes.
 */
export function logSessionRoutes(deps: { logSessions: LogSessions }): Router {
  const r = Router();
  r.get('/log-sessions/:token', async (req: Request, res: Response) => {
    const s = await deps.logSessions.take(String(req.params.token));
    if (!s) throw notFound('No such log session (each is read once, within 5 minutes; create another).');
    const sse = /text\/event-stream/.test(req.headers.accept ?? '');
    res.status(200).set({
      'content-type': sse ? 'text/event-stream; charset=utf-8' : 'text/plain; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    // retry: 0 tells an EventSource (the Heroku CLI's) not to reconnect when a finished session ends.
    if (sse) res.write('retry: 0\n\n');
    res.flushHeaders();
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    const keepAlive = s.tail ? setInterval(() => res.write(sse ? ': keep-alive\n\n' : ''), 15_000) : undefined;
    try {
      await deps.logSessions.read(s, (e) => res.write(sse ? `id: ${e.id}\ndata: ${e.line}\n\n` : `${e.line}\n`), ac.signal);
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  });
  return r;
}
