/**
 * Log sessions (Heroku's logplex URLs): POST /apps/{app}/log-sessions stores what to show under a random token,
 * for 5 minutes; the URL that carries the token is the credential and is good for one read (whoever reads it first
 * ends it, so a leaked URL cannot be replayed). Reading gives the tail, then, when asked, live lines.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { badRequest, invalidParams } from '../errors.js';
import { followLog, formatEntry, tailLog, type LogFilter } from './app-log.js';

const SESSION_TTL_S = 300;
const MAX_LINES = 1500;
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

export interface LogSession extends LogFilter {
  appId: string;
  lines: number;
  tail: boolean;
}

/** A POST /apps/{app}/log-sessions body: {lines, tail, source, dyno}. */
export function parseLogSession(body: unknown): Omit<LogSession, 'appId'> {
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

export function createLogSessions(redis: Redis, prefix: string) {
  const key = (token: string) => `${prefix}:logsession:${token}`;
  return {
    /** A new session; its token. */
    async create(session: LogSession): Promise<string> {
      const token = randomBytes(24).toString('base64url');
      await redis.set(key(token), JSON.stringify(session), 'EX', SESSION_TTL_S);
      return token;
    },
    /** The session behind a token, once: a second read finds nothing. */
    async take(token: string): Promise<LogSession | undefined> {
      if (!TOKEN.test(token)) return undefined;
      const raw = await redis.getdel(key(token));
      return raw ? (JSON.parse(raw) as LogSession) : undefined;
    },
    /** The session's lines (Heroku's format): its tail, then live ones until the signal aborts when it follows. */
    async read(s: LogSession, send: (e: { id: string; line: string }) => void, signal: AbortSignal): Promise<void> {
      const filter = { source: s.source, dyno: s.dyno };
      const entries = s.lines > 0 ? await tailLog(redis, prefix, s.appId, s.lines, filter) : [];
      for (const e of entries) send({ id: e.id, line: formatEntry(e) });
      if (!s.tail) return;
      await followLog(redis, prefix, s.appId, entries.at(-1)?.id ?? '$', filter, (e) => send({ id: e.id, line: formatEntry(e) }), signal);
    },
  };
}

export type LogSessions = ReturnType<typeof createLogSessions>;
