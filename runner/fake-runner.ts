/**
 * The fake Runner for fast tests: a dyno is a plain process group on this host (no isolation, no slug: the command
 * runs in a scratch dir), listening on a free loopback port. It honours the same contract as the runc runner —
 * the conformance suite checks both — so the agent's logic can be tested in milliseconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynoArgv, dynoEnv } from './sandbox/dyno-env.js';
import { wireOutput, type DynoExit, type Runner } from './runner.js';
import { isDynoName } from '../platform/container-name.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether a process has a handler for SIGTERM (bit 15 of SigCgt in /proc/PID/status). */
async function catchesTerm(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /SigCgt:\s*([0-9a-f]+)/.exec(status);
  return !!m && (BigInt(`0x${m[1]}`) & (1n << 14n)) !== 0n;
}

/**
 * The processes a TERM reaches in a container, where the shell is PID 1: every process of the group, and the
 * leader only if it handles SIGTERM (the kernel drops unhandled signals to a namespace's init).
 */
async function groupMembers(pgid: number): Promise<number[]> {
  const pids: number[] = (await catchesTerm(pgid)) ? [pgid] : [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === pgid) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}

export function createFakeRunner(): Runner {
  const running = new Map<string, ChildProcess>();
  return {
    kind: 'fake',
    async start(spec, opts) {
      if (!isDynoName(spec.id)) throw new Error(`not a dyno id: ${spec.id}`);
      if (running.has(spec.id)) throw new Error(`dyno ${spec.id} is already running`);
      const port = await freePort();
      const dir = await mkdtemp(join(tmpdir(), `${spec.id}-`));
      const env = dynoEnv({ dyno: spec.name, port, releaseVersion: spec.release.version, config: spec.config });
      const argv = dynoArgv(spec.command, spec.tty);
      const child = spawn(argv[0], argv.slice(1), {
        cwd: dir, env: { ...env, PATH: `${env.PATH}:${process.env.PATH ?? ''}`, HOME: dir }, detached: true,
        stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      running.set(spec.id, child);
      const flush = wireOutput(child, opts);
      const exited = new Promise<DynoExit>((resolve) => {
        const finish = (code: number | null) => {
          flush();
          running.delete(spec.id);
          // The group may hold children of the shell: the dyno ends with its main process.
          try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
          void rm(dir, { recursive: true, force: true }).then(() => resolve({ code, oomKilled: false }));
        };
        child.on('error', () => finish(null));
        child.on('close', (code, signal) => finish(code ?? (signal === 'SIGKILL' ? 137 : signal ? 143 : null)));
      });
      return { id: spec.id, host: '127.0.0.1', port, exited };
    },
    async signal(id, signal) {
      const child = running.get(id);
      if (!child?.pid) return;
      const pids = signal === 'TERM' ? await groupMembers(child.pid) : [-child.pid];
      for (const pid of pids) {
        try {
          process.kill(pid, signal === 'TERM' ? 'SIGTERM' : 'SIGKILL');
        } catch { /* gone */ }
      }
    },
    async stats(id) {
      return running.has(id) ? { memoryBytes: 0, memoryLimitBytes: 0, cpuSeconds: 0, pids: 1 } : undefined;
    },
    async list() {
      return [...running.keys()];
    },
    async cleanup(id) {
      await this.signal(id, 'KILL');
    },
  };
}
