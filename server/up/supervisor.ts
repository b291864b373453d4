/** Runs each role as a child process, restarts one that dies (with backoff), and stops them all on request. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';

export interface RoleSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
}

interface Supervised {
  spec: RoleSpec;
  child?: ChildProcess;
  startedAt: number;
  delayMs: number;
  restarts: number;
  timer?: NodeJS.Timeout;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const GOOD_RUN_MS = 60_000;

export function createSupervisor(specs: RoleSpec[], log: Logger, opts: { stopGraceMs?: number } = {}) {
  const roles = new Map<string, Supervised>(specs.map((s) => [s.name, { spec: s, startedAt: 0, delayMs: FIRST_DELAY_MS, restarts: 0 }]));
  let stopping = false;

  function start(r: Supervised): void {
    r.startedAt = Date.now();
    const child = spawn(r.spec.command, r.spec.args, { env: r.spec.env, stdio: ['ignore', 'inherit', 'inherit'] });
    r.child = child;
    child.on('error', (e) => log.error('role could not start', { role: r.spec.name, error: e.message }));
    child.on('exit', (code, signal) => {
      r.child = undefined;
      if (stopping) return;
      if (Date.now() - r.startedAt > GOOD_RUN_MS) r.delayMs = FIRST_DELAY_MS;
      r.restarts++;
      log.warn('role exited; restarting', { role: r.spec.name, code, signal, restart_in: `${r.delayMs}ms`, restarts: r.restarts });
      r.timer = setTimeout(() => start(r), r.delayMs);
      r.delayMs = Math.min(r.delayMs * 2, MAX_DELAY_MS);
    });
  }

  return {
    start(): void {
      for (const r of roles.values()) start(r);
    },
    pids(): Record<string, number | undefined> {
      return Object.fromEntries([...roles].map(([name, r]) => [name, r.child?.pid]));
    },
    restarts(name: string): number {
      return roles.get(name)?.restarts ?? 0;
    },
    /** SIGTERM to every role, SIGKILL to any still running after the grace period; resolves when all are gone. */
    async stop(): Promise<void> {
      stopping = true;
      const grace = opts.stopGraceMs ?? 35_000;
      await Promise.all(
        [...roles.values()].map(async (r) => {
          clearTimeout(r.timer);
          const child = r.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const t = setTimeout(() => {
            log.warn('role did not stop in time; killing it', { role: r.spec.name });
            child.kill('SIGKILL');
          }, grace);
          await exited;
          clearTimeout(t);
        }),
      );
    },
  };
}
