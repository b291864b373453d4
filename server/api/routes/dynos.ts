import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { badRequest, invalidParams, notFound, unavailable } from '../../errors.js';
import { followLog, formatEntry, tailLog, type LogFilter } from '../../logs/app-log.js';
import type { App, AppService } from '../../services/apps.js';
import { parseFormationUpdate, parseOneOff, type DynoService } from '../../services/dynos.js';
import { saveOneOff } from '../../oneoff.js';
import type { Db } from '../../db/pool.js';
import { serializeDyno, serializeDynoSize, serializeFormation, type UrlInfo } from '../serializers.js';
import { appOf, appRouter } from './apps.js';
import { currentUser } from '../auth.js';

const SESSION_TTL_S = 300;
const MAX_LINES = 1500;
const sessionKey = (prefix: string, token: string) => `${prefix}:logsession:${token}`;

interface LogSession extends LogFilter {
  appId: string;
  lines: number;
  tail: boolean;
}

function parseLogSession(body: unknown): Omit<LogSession, 'appId'> {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('Body must be a JSON object.');
  const lines = b.lines === undefined ? 100 : Number(b.lines);
  if (!Number.isInteger(lines) || lines < 0) throw invalidParams(`lines must be a whole number from 0 to ${MAX_LINES}.`);
  const out: Omit<LogSession, 'appId'> = { lines: Math.min(lines, MAX_LINES), tail: b.tail === true || b.tail === 'true' };
  for (const k of ['source', 'dyno'] as const) {
    const v = b[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' || !/^[a-z0-9]+([.-][a-z0-9]+)*$/.test(v) || v.length > 64) throw invalidParams(`${k} ${JSON.stringify(v).slice(0, 60)} is not a ${k} name.`);
    out[k] = v;
  }
  return out;
}

/** Formation (scaling), dynos (state, figures, restart) and log sessions. */
export function dynoRoutes(deps: { apps: AppService; dynos: DynoService; db: Db; redis: Redis; redisPrefix: string; urls: UrlInfo; rendezvousHost?: string }): Router {
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
    const agent = (await deps.db.query<{ address: string; rendezvous_port: number | null }>(
      `SELECT address, rendezvous_port FROM agents WHERE state = 'up' AND last_seen_at > now() - interval '1 minute' ORDER BY last_seen_at DESC LIMIT 1`)).rows[0];
    if (!agent) throw unavailable('No agent is running to take the dyno; is `slipway up` running?');
    const secret = input.attach ? randomBytes(24).toString('base64url') : undefined;
    if (input.attach) {
      if (!agent.rendezvous_port) throw unavailable('The agent takes no attached dynos.');
      attachUrl = `rendezvous://${deps.rendezvousHost ?? agent.address}:${agent.rendezvous_port}/${secret}`;
    }
    const dyno = await deps.dynos.createOneOff(app, input, (id) => saveOneOff(deps.redis, deps.redisPrefix, id, { env: input.env, tty: input.tty, secret }), currentUser(res));
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

  r.post('/apps/:app/log-sessions', async (req, res) => {
    const app = appOf(res);
    const session: LogSession = { appId: app.id, ...parseLogSession(req.body) };
    const token = randomBytes(24).toString('base64url');
    await deps.redis.set(sessionKey(deps.redisPrefix, token), JSON.stringify(session), 'EX', SESSION_TTL_S);
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
export function logSessionRoutes(deps: { redis: Redis; redisPrefix: string }): Router {
  const r = Router();
  r.get('/log-sessions/:token', async (req: Request, res: Response) => {
    const token = String(req.params.token);
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) throw notFound('No such log session.');
    // One use: the URL is a credential, and whoever reads it first ends it (a leaked URL cannot be replayed).
    const raw = await deps.redis.getdel(sessionKey(deps.redisPrefix, token));
    if (!raw) throw notFound('No such log session (each is read once, within 5 minutes; create another).');
    const s = JSON.parse(raw) as LogSession;
    const sse = /text\/event-stream/.test(req.headers.accept ?? '');
    res.status(200).set({
      'content-type': sse ? 'text/event-stream; charset=utf-8' : 'text/plain; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    // retry: 0 tells an EventSource (the Heroku CLI's) not to reconnect when a finished session ends.
    if (sse) res.write('retry: 0\n\n');
    res.flushHeaders();
    const send = (e: { id: string; line: string }) => res.write(sse ? `id: ${e.id}\ndata: ${e.line}\n\n` : `${e.line}\n`);
    const filter = { source: s.source, dyno: s.dyno };
    const entries = s.lines > 0 ? await tailLog(deps.redis, deps.redisPrefix, s.appId, s.lines, filter) : [];
    for (const e of entries) send({ id: e.id, line: formatEntry(e) });
    if (!s.tail) return void res.end();
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    const keepAlive = setInterval(() => res.write(sse ? ': keep-alive\n\n' : ''), 15_000);
    try {
      await followLog(deps.redis, deps.redisPrefix, s.appId, entries.at(-1)?.id ?? '$', filter, (e) => send({ id: e.id, line: formatEntry(e) }), ac.signal);
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  });
  return r;
}
