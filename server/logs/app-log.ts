/**
 * An app's log: one capped Redis Stream per app (1500 lines by default, as Heroku keeps), each entry a time,
 * a source (app, slipway, router, api), a dyno (web.1, router, api) and a line. Dynos' output and platform
 * events are written through a batching writer whose queue is bounded, so a flood cannot exhaust memory;
 * readers get the tail and then follow live.
 */
import type { Redis } from 'ioredis';
import { streamFollowers } from './stream-follow.js';

export interface LogEntry {
  id: string;
  time: string; // ISO 8601 with microseconds and +00:00, as Heroku prints
  source: string;
  dyno: string;
  line: string;
}

const MAX_LINE = 10_000;

export const appLogKey = (prefix: string, appId: string) => `${prefix}:applog:${appId}`;

let lastMs = -1;
let lastIso = '';
export function isoTime(d?: Date): string {
  const ms = d ? d.getTime() : Date.now();
  if (ms === lastMs) return lastIso; // many lines share a millisecond (a router under load)
  lastMs = ms;
  lastIso = `${new Date(ms).toISOString().slice(0, 23)}000+00:00`; // …:00.123Z → …:00.123000+00:00
  return lastIso;
}

/**
 * Appends a batch of entries to their apps' streams in one command (one XADD per entry inside Redis): sent as a
 * pipeline of XADDs, each line cost the writing process about 20 µs of CPU (a command object each), as much as a
 * tenth of what the router spends on the request it logs. KEYS: the streams; ARGV: the cap, then per entry the
 * index of its key, time, source, dyno, line.
 */
const APPEND = `
for i = 2, #ARGV, 5 do
  redis.call('XADD', KEYS[tonumber(ARGV[i])], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[i + 1], 's', ARGV[i + 2], 'd', ARGV[i + 3], 'l', ARGV[i + 4])
end
return 0`;
/** Entries per command: a bigger batch would hold Redis up for more than a millisecond or so. */
const PER_COMMAND = 500;

/** `2026-11-24T06:00:00.123000+00:00 app[web.1]: line`: Heroku's format. */
export function formatEntry(e: LogEntry): string {
  return `${e.time} ${e.source}[${e.dyno}]: ${e.line}`;
}

function toEntry(id: string, fields: string[]): LogEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return { id, time: f.t ?? '', source: f.s ?? 'app', dyno: f.d ?? '', line: f.l ?? '' };
}

export interface AppLogWriter {
  write(appId: string, source: string, dyno: string, line: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createAppLogWriter(redis: Redis, prefix: string, o: { maxLines?: number; maxQueued?: number; flushMs?: number } = {}): AppLogWriter {
  const maxLines = o.maxLines ?? 1500;
  const maxQueued = o.maxQueued ?? 20_000;
  let queue: { appId: string; time: string; source: string; dyno: string; line: string }[] = [];
  const r = redis as Redis & { slipwayAppendLogs?: (...args: (string | number)[]) => Promise<unknown> };
  if (!r.slipwayAppendLogs) r.defineCommand('slipwayAppendLogs', { lua: APPEND });
  let dropped = 0;
  let flushing: Promise<void> | undefined;

  async function flush(): Promise<void> {
    while (flushing) await flushing; // one flush at a time, so lines reach Redis in the order they were written
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    let done: () => void = () => undefined;
    flushing = new Promise<void>((resolve) => (done = resolve));
    try {
      const sends: Promise<unknown>[] = [];
      for (let from = 0; from < batch.length; from += PER_COMMAND) {
        // One command's worth of lines per event-loop turn: a big batch never holds up the requests behind it long.
        if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const keys: string[] = [];
        const index = new Map<string, number>();
        const args: (string | number)[] = [maxLines];
        for (const e of batch.slice(from, from + PER_COMMAND)) {
          let k = index.get(e.appId);
          if (k === undefined) {
            keys.push(appLogKey(prefix, e.appId));
            index.set(e.appId, (k = keys.length));
          }
          args.push(k, e.time, e.source, e.dyno, e.line);
        }
        sends.push(r.slipwayAppendLogs!(keys.length, ...keys, ...args).catch(() => undefined));
      }
      await Promise.all(sends);
    } finally {
      flushing = undefined;
      done();
    }
  }
  const timer = setInterval(() => void flush(), o.flushMs ?? 50);
  timer.unref();

  return {
    write(appId, source, dyno, line) {
      for (let i = 0; i < Math.max(1, line.length); i += MAX_LINE) {
        if (queue.length >= maxQueued) {
          dropped++;
          continue;
        }
        queue.push({ appId, time: isoTime(), source, dyno, line: i === 0 && line.length <= MAX_LINE ? line : line.slice(i, i + MAX_LINE) });
      }
      if (dropped > 0 && queue.length < maxQueued / 2) {
        const n = dropped;
        dropped = 0;
        queue.push({ appId, time: isoTime(), source: 'slipway', dyno: 'logs', line: `Error L10 (output buffer overflow) -> ${n} log lines dropped` });
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

export interface LogFilter {
  source?: string;
  dyno?: string;
}

/** source `router` is the router's lines (slipway[router]); `heroku`, as Heroku's CLI says, the platform's. */
const sourceMatches = (e: LogEntry, source: string) =>
  source === 'router' ? e.source === 'slipway' && e.dyno === 'router' : e.source === (source === 'heroku' ? 'slipway' : source);

const matches = (e: LogEntry, f: LogFilter) =>
  (!f.source || sourceMatches(e, f.source)) && (!f.dyno || e.dyno === f.dyno || (!f.dyno.includes('.') && e.dyno.startsWith(`${f.dyno}.`)));

/** The last n entries (oldest first), filtered. */
export async function tailLog(redis: Redis, prefix: string, appId: string, n: number, f: LogFilter = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let end = '+';
  // Read backwards in pages until n matching entries are found or the stream is exhausted.
  while (out.length < n) {
    const page = (await redis.xrevrange(appLogKey(prefix, appId), end, '-', 'COUNT', 500)) as [string, string[]][];
    for (const [id, fields] of page) {
      const e = toEntry(id, fields);
      if (matches(e, f)) out.push(e);
      if (out.length >= n) break;
    }
    if (page.length < 500) break;
    end = `(${page[page.length - 1][0]}`;
  }
  return out.reverse();
}

/** Follows new entries after `after` (an entry id, or '$' for only new ones) until the signal aborts. */
export async function followLog(redis: Redis, prefix: string, appId: string, after: string, f: LogFilter, onEntry: (e: LogEntry) => void, signal: AbortSignal): Promise<void> {
  let last = after;
  if (last === '$') {
    // '$' again on every read would miss what arrives between reads: start from the newest id now.
    const newest = (await redis.xrevrange(appLogKey(prefix, appId), '+', '-', 'COUNT', 1)) as [string, string[]][];
    last = newest[0]?.[0] ?? '0';
  }
  await streamFollowers(redis).follow(appLogKey(prefix, appId), last, (entries) => {
    for (const [id, fields] of entries) {
      const e = toEntry(id, fields);
      if (matches(e, f)) onEntry(e);
    }
  }, signal);
}
