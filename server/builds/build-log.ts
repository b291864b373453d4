/**
 * A build's output: a Redis Stream per build, written by the worker line by line and followed live by the
 * pusher's pre-receive hook and by output_stream_url. The last entry carries the result. Kept 7 days.
 *
 * What one build may write is bounded before anything reaches Redis: maxLines lines and maxBytes bytes (lines over
 * 10 KB count in pieces); beyond that lines are counted, not kept, and one line at the end says how many. Followers
 * share one Redis connection per process (stream-follow.ts).
 */
import type { Redis } from 'ioredis';
import { streamFollowers } from '../logs/stream-follow.js';

export interface BuildResult {
  status: 'succeeded' | 'failed';
  release?: number;
  error?: string;
}

export interface BuildLog {
  append(buildId: string, line: string): Promise<void>;
  finish(buildId: string, result: BuildResult): Promise<void>;
  /** Calls onLine for every line from the start, live, until the result arrives (or the signal aborts). */
  follow(buildId: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<BuildResult | undefined>;
}

export interface BuildLogLimits {
  maxLines?: number;
  maxBytes?: number;
}

const KEEP_SECONDS = 7 * 24 * 3600;
const MAX_LINE = 10_000;

/** A build's log (`buildlog`), or a release's output (`releaselog`: its release phase and deploy), by id. */
export function createRedisBuildLog(redis: Redis, prefix: string, limits: BuildLogLimits = {}, kind: 'buildlog' | 'releaselog' = 'buildlog'): BuildLog {
  const maxLines = limits.maxLines ?? 10_000;
  const maxBytes = limits.maxBytes ?? 4 << 20;
  const key = (id: string) => `${prefix}:${kind}:${id}`;
  /** What each build running in this process has written; a build whose worker died leaves its entry to be pruned. */
  const written = new Map<string, { lines: number; bytes: number; dropped: number; at: number }>();
  const tally = (id: string) => {
    let t = written.get(id);
    if (!t) {
      if (written.size >= 1000) for (const [k, v] of written) if (Date.now() - v.at > 86_400_000) written.delete(k);
      written.set(id, (t = { lines: 0, bytes: 0, dropped: 0, at: Date.now() }));
    }
    return t;
  };
  return {
    async append(id, line) {
      const t = tally(id);
      for (let i = 0; i < Math.max(1, line.length); i += MAX_LINE) {
        const piece = line.slice(i, i + MAX_LINE);
        if (t.lines >= maxLines || t.bytes + piece.length > maxBytes) {
          t.dropped++;
          continue;
        }
        t.lines++;
        t.bytes += piece.length;
        await redis.xadd(key(id), 'MAXLEN', '~', maxLines + 10, '*', 'l', piece);
      }
      if (t.lines === 1) await redis.expire(key(id), KEEP_SECONDS);
    },
    async finish(id, result) {
      const t = written.get(id);
      written.delete(id);
      if (t?.dropped) {
        const note = ` !     ${t.dropped} more lines of build output were not kept: a build keeps ${maxLines} lines and ${Math.round(maxBytes / 1024 / 1024)} MB (SLIPWAY_BUILD_LOG_LINES).`;
        await redis.xadd(key(id), '*', 'l', note);
      }
      await redis.xadd(key(id), '*', 'r', JSON.stringify(result));
      await redis.expire(key(id), KEEP_SECONDS);
    },
    async follow(id, onLine, signal) {
      let result: BuildResult | undefined;
      await streamFollowers(redis).follow(key(id), '0', (entries, stop) => {
        for (const [, fields] of entries) {
          if (fields[0] === 'l') onLine(fields[1]);
          else if (fields[0] === 'r') {
            result = JSON.parse(fields[1]) as BuildResult;
            return stop();
          }
        }
      }, signal);
      return result;
    },
  };
}
