/**
 * Following Redis Streams live (app logs, build output) on one connection per process, however many readers
 * follow: a blocking XREAD holds its connection, so a connection per follower would let anyone who opens log
 * sessions exhaust Redis's clients. One loop reads every followed stream with one XREAD … BLOCK and hands each
 * follower what is new to it; a follower that joins interrupts the block (CLIENT UNBLOCK) to be read at once.
 */
import type { Redis } from 'ioredis';

export type StreamEntry = [id: string, fields: string[]];

interface Follower {
  key: string;
  /** The last entry id this follower has (entries after it are delivered). */
  after: string;
  deliver(entries: StreamEntry[]): void;
}

/** a < b for stream ids (ms-seq). */
function before(a: string, b: string): boolean {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  return BigInt(am) < BigInt(bm) || (am === bm && BigInt(as) < BigInt(bs));
}

const BLOCK_MS = 2000;

export class StreamFollowers {
  private readonly reader: Redis;
  private readerId: number | undefined;
  private readonly followers = new Set<Follower>();
  private running = false;
  private joined = false;

  constructor(private readonly redis: Redis) {
    // Named for this process: CLIENT LIST shows which process holds which reader.
    this.reader = redis.duplicate({ connectionName: `slipway-followers-${process.pid}`, lazyConnect: true });
    this.reader.on('error', () => undefined);
    this.reader.on('close', () => (this.readerId = undefined));
  }

  /** Calls onEntries with every entry of key after `after` ('0': all), live, until the signal aborts or stop() is called. */
  follow(key: string, after: string, onEntries: (entries: StreamEntry[], stop: () => void) => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const f: Follower = { key, after, deliver: (entries) => onEntries(entries, done) };
      const done = () => {
        this.followers.delete(f);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', done);
      this.followers.add(f);
      this.joined = true;
      if (!this.running) void this.loop();
      else this.interrupt();
    });
  }

  /** How many follow now (for tests and figures). */
  get size(): number {
    return this.followers.size;
  }

  private interrupt(): void {
    if (this.readerId !== undefined) void this.redis.client('UNBLOCK', this.readerId).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.followers.size > 0) {
        const cursors = new Map<string, string>();
        for (const f of this.followers) {
          const c = cursors.get(f.key);
          if (c === undefined || before(f.after, c)) cursors.set(f.key, f.after);
        }
        let res: [string, StreamEntry[]][] | null;
        try {
          if (this.reader.status === 'wait') await this.reader.connect();
          this.readerId ??= Number(await this.reader.client('ID'));
          this.joined = false;
          const reading = this.reader.xread('COUNT', 500, 'BLOCK', BLOCK_MS, 'STREAMS', ...cursors.keys(), ...cursors.values()) as Promise<[string, StreamEntry[]][] | null>;
          if (this.joined) this.interrupt(); // one joined while the read was being sent
          res = await reading;
        } catch {
          await new Promise((r) => setTimeout(r, 250)); // Redis away: try again shortly (ioredis reconnects)
          continue;
        }
        for (const [key, entries] of res ?? []) {
          for (const f of [...this.followers]) {
            if (f.key !== key) continue;
            const fresh = entries.filter(([id]) => before(f.after, id));
            if (fresh.length === 0) continue;
            f.after = fresh[fresh.length - 1][0];
            f.deliver(fresh);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  close(): void {
    this.followers.clear();
    this.reader.disconnect();
  }
}

const byConnection = new WeakMap<Redis, StreamFollowers>();

/** Closes the reader of a connection's followers, if it has one (when the process lets go of Redis). */
export function closeStreamFollowers(redis: Redis): void {
  byConnection.get(redis)?.close();
  byConnection.delete(redis);
}

/** The followers of this process for a connection: one reader connection beside it, made on first use. */
export function streamFollowers(redis: Redis): StreamFollowers {
  let f = byConnection.get(redis);
  if (!f) byConnection.set(redis, (f = new StreamFollowers(redis)));
  return f;
}
