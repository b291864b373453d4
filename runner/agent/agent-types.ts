/** What the agent works from (desired dynos, a store to report to, a log sink) and its options. */
import type { HealthCheck } from '../../platform/health-check.js';
import type { DynoStats, Runner } from '../runner.js';
import type { DynoDefinition } from '../../platform/dyno.js';

/** A dyno the agent keeps running: its definition, its generation, and whether it is a candidate of a deploy. */
export interface DesiredDyno extends DynoDefinition {
  /** Changes whenever the dyno must be replaced: a new release, another size, a restart. */
  generation: string;
  /**
   * A dyno of a release being deployed: started beside the current release's, checked, never restarted, and made
   * current only when its release becomes the app's current one.
   */
  candidate?: boolean;
  /** The startup checks a candidate must pass before it counts as up (app.json healthchecks of its type). */
  checks?: HealthCheck[];
}

/** A one-off the control plane created and placed on this agent: its record there is dynoId. */
export type OneOffDyno = DesiredDyno & { dynoId: string };

export type DynoState = 'starting' | 'up' | 'crashed' | 'stopping';

export interface DynoReport {
  id: string;
  appId: string;
  name: string;
  type: string;
  releaseId: string;
  command: string;
  size: string;
  state: DynoState;
  host?: string;
  port?: number;
  restarts: number;
  exitCode?: number | null;
  startedAt: Date;
}

export interface AgentStore {
  desired(): Promise<DesiredDyno[]>;
  report(r: DynoReport): Promise<void>;
  forget(id: string): Promise<void>;
  /** Ties a one-off's record to the container about to run it; false when it was started already (or is gone). */
  claimOneOff(dynoId: string, containerId: string): Promise<boolean>;
  /** Removes every dyno row this agent reported before it (re)started. */
  reset(): Promise<void>;
  stats(id: string, s: DynoStats): Promise<void>;
}

export interface LogSink {
  write(appId: string, source: 'app' | 'slipway', dyno: string, line: string): void;
}

export interface AgentOptions {
  runner: Runner;
  store: AgentStore;
  logs: LogSink;
  bootTimeoutMs?: number;
  stopGraceMs?: number;
  /** The first delayed restart (the second crash); later ones double it up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A dyno up this long has its crash count reset. */
  resetAfterMs?: number;
  reconcileMs?: number;
  statsMs?: number;
  /**
   * Resolves once no router sends requests to the app's dynos reported stopping (or no longer routable): a web
   * dyno that was up gets its SIGTERM only then. Without it, drainMs is waited instead.
   */
  routesDropped?: (appId: string) => Promise<unknown>;
  /** Without routesDropped: how long a web dyno is out of the routes before its SIGTERM. */
  drainMs?: number;
  /** Output lines per dyno per second before lines are dropped (L10). */
  maxLinesPerSecond?: number;
  /** A one-off dyno running this long is stopped (Heroku cycles them after a day). */
  oneOffMaxAgeMs?: number;
  onError?: (what: string, e: Error) => void;
}
