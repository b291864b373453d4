/**
 * runc, driven with argv arrays. A one-shot container runs in the foreground (`runc run`), its stdout and
 * stderr piped back line by line; a timeout or an abort kills it. Containers, bundles and cgroups all carry
 * the `slipway-` prefix: cleanup only ever touches ids that start with it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { superviseChild } from '../build/executor.js';
import { ociSpec, type ProcessSpec } from './oci-spec.js';

const run = promisify(execFile);
const ID = /^slipway-[a-z0-9][a-z0-9.-]{0,100}$/;

export interface RuncOptions {
  /** runc's state dir (--root), so `runc list` shows only Slipway's containers. */
  root: string;
  /** Where bundles (config.json) are written, one dir per container. */
  bundles: string;
  binary?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  /** The kernel killed a process of the container for exceeding its memory limit. */
  oomKilled: boolean;
}

/** A server running in a container (runc.serve). */
export interface ServedContainer {
  /** The server's pid on the host. */
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** signal (TERM), then KILL after graceMs; resolves once runc has exited and the container is removed. */
  stop(signal?: string, graceMs?: number): Promise<void>;
}

/** cgroup v1: memory.oom_control counts OOM kills in the container's memory cgroup. */
export async function oomKills(cgroupsPath: string): Promise<number> {
  const text = await readFile(join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control'), 'utf8').catch(() => '');
  return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0);
}

export function assertOwnedId(id: string): void {
  if (!ID.test(id)) throw new Error(`not a Slipway container id: ${JSON.stringify(id).slice(0, 80)}`);
}

export function createRunc(o: RuncOptions) {
  const bin = o.binary ?? 'runc';
  const runc = (args: string[]) => run(bin, ['--root', o.root, ...args], { maxBuffer: 16 << 20 });

  async function kill(id: string, signal = 'KILL'): Promise<void> {
    assertOwnedId(id);
    await runc(['kill', id, signal]).catch(() => undefined);
  }
  async function remove(id: string): Promise<void> {
    assertOwnedId(id);
    await runc(['delete', '--force', id]).catch(() => undefined);
    await rm(join(o.bundles, id), { recursive: true, force: true });
  }

  return {
    kill,
    remove,
    /** A signal to every process in the container's cgroup (`runc kill --all`). */
    async killAll(id: string, signal: string): Promise<void> {
      assertOwnedId(id);
      await runc(['kill', '--all', id, signal]).catch(() => undefined);
    },
    /** Ids of the containers runc knows under our root (all of them ours by construction). */
    async list(): Promise<{ id: string; pid: number; status: string }[]> {
      const r = await runc(['list', '--format', 'json']).catch(() => ({ stdout: 'null' }));
      const rows = (JSON.parse(r.stdout || 'null') ?? []) as { id: string; pid: number; status: string }[];
      return rows.filter((c) => ID.test(c.id)).map((c) => ({ id: c.id, pid: c.pid, status: c.status }));
    },
    /**
     * Runs a server in a container until it exits or is stopped: its output to logFd, its pid (inside, the server
     * itself) read from runc's pid file once it runs. A container of the same id left by an earlier run is removed.
     */
    async serve(spec: ProcessSpec, logFd: number): Promise<ServedContainer> {
      assertOwnedId(spec.id);
      const bundle = join(o.bundles, spec.id);
      await remove(spec.id);
      await mkdir(o.root, { recursive: true, mode: 0o700 });
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec(spec)));
      const pidFile = join(bundle, 'pid');
      const child = spawn(bin, ['--root', o.root, 'run', '--pid-file', pidFile, '--bundle', bundle, spec.id], { stdio: ['ignore', logFd, logFd] });
      // Resolves once the container is removed too, so a server started again after it never meets its leftovers.
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })))
        .then(async (r) => (await remove(spec.id), r));
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined && child.exitCode === null; i++) {
        pid = Number(await readFile(pidFile, 'utf8').catch(() => '')) || undefined;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      if (pid === undefined) {
        await kill(spec.id);
        throw new Error(`the container ${spec.id} did not start (runc exited with ${child.exitCode ?? 'nothing'})`);
      }
      return {
        pid,
        exited,
        async stop(signal = 'TERM', graceMs = 15_000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          await kill(spec.id, signal);
          const t = setTimeout(() => void kill(spec.id, 'KILL'), graceMs);
          await exited;
          clearTimeout(t);
        },
      };
    },
    /** Runs the spec to completion and removes the container (and its bundle) afterwards. */
    async runOnce(spec: ProcessSpec, opts: { onLine?: (line: string) => void; timeoutMs?: number; signal?: AbortSignal; stdin?: string } = {}): Promise<RunResult> {
      assertOwnedId(spec.id);
      const bundle = join(o.bundles, spec.id);
      await mkdir(o.root, { recursive: true, mode: 0o700 });
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec(spec)));
      try {
        // --keep: the container (and its cgroup) stays until remove(), so its OOM count can be read.
        const child = spawn(bin, ['--root', o.root, 'run', '--keep', '--bundle', bundle, spec.id], { stdio: ['pipe', 'pipe', 'pipe'] });
        child.stdin.on('error', () => undefined); // runc gone before reading it (EPIPE): its exit says why
        child.stdin.end(opts.stdin ?? '');
        const r = await superviseChild(child, { onLine: opts.onLine, timeoutMs: opts.timeoutMs, signal: opts.signal, kill: () => void kill(spec.id) });
        return { ...r, oomKilled: (await oomKills(spec.cgroupsPath)) > 0 };
      } finally {
        await remove(spec.id);
      }
    },
  };
}

export type Runc = ReturnType<typeof createRunc>;
