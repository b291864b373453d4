/**
 * The Runner: what the agent needs from a host to run dynos. Two implementations: runc (runner/sandbox/runc-runner.ts, the
 * real one: containers, cgroups, a netns per dyno) and a host-process fake (runner/fake-runner.ts) for fast tests.
 * One conformance suite (test/integration/runner-conformance.test.ts) runs against both.
 *
 * Nothing local crosses this interface: a dyno is named by its id and reached at an address, so another
 * implementation (another host, Kubernetes) can stand behind it.
 */
import type { ChildProcess } from 'node:child_process';
import { lineSplitter } from './build/executor.js';
import type { DynoDefinition } from '../platform/dyno.js';

/** A dyno to start: its definition, the instance id the agent minted, and whether it has a terminal. */
export interface DynoSpec extends DynoDefinition {
  /** Unique per dyno instance, minted by the agent: slipway-APP-vN-web-1-aPID-GEN (platform/container-name.ts). */
  id: string;
  /** An attached one-off given a terminal: the command runs on a pseudo-terminal in the dyno. */
  tty?: boolean;
}

export interface DynoExit {
  code: number | null;
  /** The kernel killed a process of the dyno for exceeding its memory (R15). */
  oomKilled: boolean;
}

export interface DynoHandle {
  id: string;
  /** Where the dyno listens: the router connects to host:port. */
  host: string;
  port: number;
  /** Settles once the dyno has exited and everything it held (netns, address, dirs) is released. */
  exited: Promise<DynoExit>;
}

export interface DynoStats {
  memoryBytes: number;
  memoryLimitBytes: number;
  cpuSeconds: number;
  pids: number;
  /** What the dyno's scratch disk (/app's writable layer and /tmp) holds, and its size. */
  diskBytes?: number;
  diskLimitBytes?: number;
}

export interface StartOptions {
  /**
   * Each line of stdout and stderr (lines over 10 KB arrive in pieces). A number returned holds the dyno's output
   * back for that many ms: nothing more is read, so once its pipes are full the dyno's own writes wait.
   */
  onLine: (line: string) => void | number;
  /** Attached one-off dynos: what the user types. Without it, stdin is empty. */
  stdin?: NodeJS.ReadableStream;
  /** Raw output instead of lines (attached one-offs). */
  onData?: (chunk: Buffer) => void;
}

export interface Runner {
  readonly kind: string;
  start(spec: DynoSpec, opts: StartOptions): Promise<DynoHandle>;
  /** A signal to every process of the dyno (Heroku sends SIGTERM to all of them). */
  signal(id: string, signal: 'TERM' | 'KILL'): Promise<void>;
  stats(id: string): Promise<DynoStats | undefined>;
  /** Dynos this runner holds or a previous agent left behind: every agent-made name it has. */
  list(): Promise<string[]>;
  /** Kills and removes what is left of a dyno this process did not start (a previous agent's). Agent-made names only. */
  cleanup(id: string): Promise<void>;
}

/** Splits lines longer than max into pieces (a dyno's 1 MB line becomes 100 log entries, not one). */
export function splitLong(line: string, max = 10_000): string[] {
  if (line.length <= max) return [line];
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += max) parts.push(line.slice(i, i + max));
  return parts;
}

/**
 * Joins a dyno process's stdio to StartOptions: stdin piped in, output as lines (split at 10 KB) or raw chunks.
 * Returns what flushes a last unterminated line when the process ends. Shared by every Runner.
 */
export function wireOutput(child: ChildProcess, opts: StartOptions): () => void {
  if (opts.stdin && child.stdin) {
    opts.stdin.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
  }
  let heldUntil = 0;
  let held: NodeJS.Timeout | undefined;
  const onLine = (l: string) => {
    for (const part of splitLong(l)) {
      const hold = opts.onLine(part);
      if (typeof hold === 'number' && hold > 0) heldUntil = Math.max(heldUntil, Date.now() + hold);
    }
  };
  const holdIfAsked = () => {
    const ms = heldUntil - Date.now();
    if (held || ms <= 0) return;
    child.stdout?.pause();
    child.stderr?.pause();
    held = setTimeout(() => {
      held = undefined;
      child.stdout?.resume();
      child.stderr?.resume();
    }, ms);
  };
  const out = lineSplitter(onLine);
  const err = lineSplitter(onLine);
  child.stdout?.on('data', (d: Buffer) => (opts.onData ? opts.onData(d) : (out.push(d), holdIfAsked())));
  child.stderr?.on('data', (d: Buffer) => (opts.onData ? opts.onData(d) : (err.push(d), holdIfAsked())));
  return () => {
    out.end();
    err.end();
  };
}
