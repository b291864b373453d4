/**
 * Where buildpack scripts run. The host executor runs them as a process group in a temp dir; the runner's
 * build container (same isolation as dynos) implements the same interface.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { BuildExecutor, ExecOptions, ExecResult } from '../../platform/build-executor.js';

export type { BuildExecutor, ExecOptions, ExecResult };

/** Splits a byte stream into lines (a lone \r, as progress bars use, ends a line too). */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      rest += chunk.toString();
      const parts = rest.split(/\r\n|\n|\r/);
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    end() {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}

/**
 * Waits for a child: both output streams split into lines for onLine, stdout kept (up to 1 MB), `kill` called at the
 * timeout or on abort. Shared by the host executor and the runc driver.
 */
export function superviseChild(
  child: ChildProcessByStdio<null | Writable, Readable, Readable>,
  opts: { onLine?: (line: string) => void; timeoutMs?: number; signal?: AbortSignal; kill: () => void },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let timedOut = false;
    // One splitter per stream: an unfinished line on one must never be glued to the other's.
    const out = lineSplitter((l) => opts.onLine?.(l));
    const err = lineSplitter((l) => opts.onLine?.(l));
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1_000_000) stdout += d.toString();
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = opts.timeoutMs ? setTimeout(() => ((timedOut = true), opts.kill()), opts.timeoutMs) : undefined;
    opts.signal?.addEventListener('abort', opts.kill);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', opts.kill);
      out.end();
      err.end();
      resolve({ code, signal, stdout, timedOut });
    });
  });
}

export function createHostExecutor(): BuildExecutor {
  return {
    async run(argv, opts) {
      const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const killGroup = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      const r = await superviseChild(child, { onLine: opts.onLine, timeoutMs: opts.timeoutMs, signal: opts.signal, kill: killGroup });
      killGroup(); // nothing a buildpack started outlives it
      return r;
    },
  };
}
