/** `slipway up` keeps its embedded PostgreSQL and Redis running: one that exits is started again, on the same socket. */
import type { Embedded } from '../embedded/postgres.js';
import type { Logger } from '../log.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
const GOOD_RUN_MS = 60_000;

export interface KeptEmbedded {
  /** The same for every restart (the socket path does not change), so clients reconnect by themselves. */
  url: string;
  pid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts an embedded server and starts it again whenever it exits (after 1 s, doubling to 30 s; back to 1 s after a
 * minute up) until stop(). The roles' clients see a short outage: the API answers 503, the router keeps its table.
 */
export async function keepEmbedded(name: string, start: () => Promise<Embedded>, log: Logger): Promise<KeptEmbedded> {
  let current: Embedded | undefined = await start();
  let stopping = false;
  let delay = FIRST_DELAY_MS;
  let startedAt = Date.now();
  let restarting: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const url = current.url;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function restart(): Promise<void> {
    for (;;) {
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
      if (stopping) return;
      try {
        const next = await start();
        if (stopping) return void (await next.stop());
        current = next;
        startedAt = Date.now();
        log.info(`embedded ${name} restarted`, { pid: next.pid });
        watch(next);
        return;
      } catch (e) {
        log.error(`embedded ${name} did not start; trying again`, { error: (e as Error).message, restart_in: `${delay}ms` });
      }
    }
  }

  function watch(e: Embedded): void {
    void e.exited.then(({ code, signal }) => {
      if (stopping || e !== current) return;
      current = undefined;
      if (Date.now() - startedAt > GOOD_RUN_MS) delay = FIRST_DELAY_MS;
      log.error(`embedded ${name} exited; starting it again`, { code, signal, restart_in: `${delay}ms` });
      restarting = restart().finally(() => (restarting = undefined));
    });
  }
  watch(current);

  return {
    url,
    pid: () => current?.pid,
    async stop() {
      stopping = true;
      wake?.();
      await restarting;
      await current?.stop();
    },
  };
}
