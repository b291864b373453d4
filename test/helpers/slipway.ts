/** Runs the real `slipway` binary: `up` as a child process, and CLI commands with their exit codes. */
import { createHash } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { waitFor } from './procs.js';

const execFileP = promisify(execFile);

export const BIN = join(PACKAGE_ROOT, 'dist', 'server', 'bin.js');

export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NODE_EXTRA_CA_CERTS' || k === 'DATABASE_URL' || k === 'REDIS_URL' || k.startsWith('SLIPWAY_')) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface Up {
  child: ChildProcess;
  output(): string;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The add-on servers' ports for an `up` on this data dir: the same at every start (add-ons keep their address), and
 * apart from other tests' (two test files run at once; the defaults 15432 and 16380-16999 would collide).
 */
export function addonPortsFor(dataDir: string): Record<string, string> {
  const h = createHash('sha256').update(dataDir).digest();
  const pg = 20_000 + (h.readUInt16BE(0) % 10_000);
  const redis = 30_000 + (h.readUInt16BE(2) % 1_000) * 20;
  return { SLIPWAY_ADDON_POSTGRES_PORT: String(pg), SLIPWAY_ADDON_REDIS_PORTS: `${redis}-${redis + 19}` };
}

/**
 * The dyno bridge and subnet for an `up` on this data dir: one `up` per bridge on a host (the second is refused), so
 * tests side by side each have their own (a /20 of 10.160.0.0/10, apart from the test platforms' 10.213.0.0/16).
 */
export function networkFor(dataDir: string): { SLIPWAY_BRIDGE: string; SLIPWAY_SUBNET: string } {
  const h = createHash('sha256').update(`net:${dataDir}`).digest();
  return { SLIPWAY_BRIDGE: `swt${h.toString('hex').slice(0, 8)}`, SLIPWAY_SUBNET: `10.${160 + (h[4] % 48)}.${(h[5] % 16) * 16}.0/20` };
}

export function startUp(args: string[], env: Record<string, string>): Up {
  // Tests run side by side: the agent's rendezvous port, the router's TLS port, the add-on servers' ports and the
  // dyno bridge must not be the fixed defaults (5052, 8443, 15432, slipway0) in each of them.
  const at = args.indexOf('--data-dir');
  const dataDir = at >= 0 ? args[at + 1] : env.SLIPWAY_DATA_DIR ?? '';
  const network = env.SLIPWAY_BRIDGE ? undefined : networkFor(dataDir);
  const child = spawn(process.execPath, [BIN, 'up', ...args], {
    env: { SLIPWAY_RENDEZVOUS_PORT: '0', SLIPWAY_ROUTER_TLS_PORT: '0', ...addonPortsFor(dataDir), ...network, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return {
    child,
    output: () => out,
    waitForOutput: (re, timeoutMs = 90_000) =>
      waitFor(`output ${re}`, () => {
        if (child.exitCode !== null) throw new Error(`slipway up exited with ${child.exitCode}:\n${out}`);
        return out.match(re) ?? undefined;
      }, timeoutMs),
    async stop(signal = 'SIGTERM', timeoutMs = 60_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      // After a SIGKILL, what `up` started (its embedded Redis) may live on holding these pipes: let go of them, or
      // the test process would wait for them forever.
      child.stdout!.destroy();
      child.stderr!.destroy();
      // The bridge made for this test goes with it (the next start on the data dir makes it again).
      if (network) await execFileP('ip', ['link', 'del', network.SLIPWAY_BRIDGE]).catch(() => undefined);
      return r;
    },
  };
}

/** Runs `slipway ARGS`; resolves with its exit code and output (never rejects on a non-zero exit). */
export function slipway(args: string[], env: Record<string, string>, stdin?: string, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
