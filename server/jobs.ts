/**
 * Periodic jobs. Each role lists its own in one table (roles/worker.ts: garbage collection, certificates, scheduled
 * backups; addons/host.ts: the add-on servers, their scripts, their storage): a name, how often, and a pass, run at
 * once (or after firstAfterMs), then again everyMs after each ends, never two at once; a pass that fails is logged
 * with its job's name and the next comes as usual.
 */
import type { Logger } from './log.js';

export interface PeriodicJob {
  name: string;
  everyMs: number;
  run(): Promise<unknown>;
  /** The first pass after this; default: at once. */
  firstAfterMs?: number;
}

/** A pass run now and then again every ms after each one ends (never two at once), until stopped. */
export interface Repeating {
  /** The first pass. */
  first: Promise<void>;
  /** No more passes; resolves once a pass under way has ended. */
  stop(): Promise<void>;
}

export function repeatEvery(ms: number, pass: () => Promise<unknown>, onError: (e: Error) => void, firstAfterMs = 0): Repeating {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = pass().then(() => undefined, onError);
    void current.then(() => {
      if (!stopped) timer = setTimeout(tick, ms);
    });
  };
  if (firstAfterMs > 0) timer = setTimeout(tick, firstAfterMs);
  else tick();
  return {
    first: current,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}

/** Starts every job of the table; stop() ends them all (resolving once the passes under way have ended). */
export function startPeriodicJobs(jobs: PeriodicJob[], log: Logger): { stop(): Promise<void> } {
  const running = jobs.map((j) => repeatEvery(j.everyMs, () => j.run(), (e) => log.warn(`${j.name} failed`, { error: e.message }), j.firstAfterMs));
  return { stop: async () => { await Promise.all(running.map((r) => r.stop())); } };
}
