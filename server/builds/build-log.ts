/**
 * A build's output: a Redis Stream per build, written by the worker line by line and followed live by the
 * pusher's pre-receive hook and by output_stream_url. The last entry carries the result. Kept 7 days.
 */
import type { Redis } from 'ioredis';

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

const KEEP_SECONDS = 7 * 24 * 3600;
const MAX_LINES = 20000;
const MAX_LINE = 10_000;

export function createRedisBuildLog(redis: Redis, prefix: string): BuildLog {
  const key = (id: string) => `${prefix}:buildlog:${id}`;
  return {
    async append(id, line) {
      for (let i = 0; i < Math.max(1, line.length); i += MAX_LINE) {
        await redis.xadd(key(id), 'MAXLEN', '~', MAX_LINES, '*', 'l', line.slice(i, i + MAX_LINE));
      }
      await redis.expire(key(id), KEEP_SECONDS);
    },
    async finish(id, result) {
      await redis.xadd(key(id), '*', 'r', JSON.stringify(result));
      await redis.expire(key(id), KEEP_SECONDS);
    },
    async follow(id, onLine, signal) {
      // A blocking XREAD needs its own connection.
      const reader = redis.duplicate();
      reader.on('error', () => undefined);
      const onAbort = () => reader.disconnect();
      signal?.addEventListener('abort', onAbort);
      let last = '0';
      try {
        while (!signal?.aborted) {
          const res = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', key(id), last)) as [string, [string, string[]][]][] | null;
          if (!res) continue;
          for (const [, entries] of res) {
            for (const [entryId, fields] of entries) {
              last = entryId;
              if (fields[0] === 'l') onLine(fields[1]);
              else if (fields[0] === 'r') return JSON.parse(fields[1]) as BuildResult;
            }
          }
        }
        return undefined;
      } catch (e) {
        if (signal?.aborted) return undefined;
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        reader.disconnect();
      }
    },
  };
}
