/**
 * Where buildpack scripts run, as the buildpacks see it: a step's argv with its options (its dirs, its network and
 * egress, its uid), and what came back. The runner has two (runner/build/executor.ts runs steps on the host,
 * runner/build/build-executor.ts in build containers); the worker hands one to the buildpacks.
 */
import type { ContainerIdentity } from './container-name.js';
import type { BuildEgress } from './egress.js';

export interface ExecOptions {
  cwd: string;
  /** What the step is part of, for a container executor's container name (see container-name.ts). */
  container?: ContainerIdentity;
  /** The app's uid: a container executor runs the step, and hands the owned mounts, to it (runner/sandbox/identity.ts). */
  uid?: number;
  /** Host dirs the step needs, and where a container executor puts them (the host executor uses them in place). */
  mounts?: { source: string; destination: string; readonly: boolean; /** handed to the build user */ owned?: boolean }[];
  /** The step needs the network (bin/compile fetches packages); detect and release do not. */
  network?: boolean;
  /** What a step with the network may reach (a container executor loads it in the step's namespace). */
  egress?: BuildEgress;
  env: Record<string, string>;
  onLine?: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  timedOut: boolean;
  /** Killed by the kernel for exceeding the memory limit (container executors only). */
  oomKilled?: boolean;
}

export interface BuildExecutor {
  run(argv: string[], opts: ExecOptions): Promise<ExecResult>;
}
