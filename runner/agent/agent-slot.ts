/**
 * One slot of the agent: a dyno of an app's formation (web.2) across its instances — the current release's, a
 * replacement or a candidate of a release being deployed, the last one that crashed — and the decisions taken on
 * it at each reconcile. What the decisions do (start, stop, forget, timers) is the agent's (agent.ts).
 */
import type { DesiredDyno, DynoState } from './agent-types.js';
import { mintContainerName } from '../../platform/container-name.js';
import { diskFull } from '../sandbox/scratch-disk.js';
import type { DynoExit, DynoHandle, DynoSpec, DynoStats } from '../runner.js';

export interface Instance {
  spec: DynoSpec;
  desired: DesiredDyno;
  handle?: DynoHandle;
  /** The runner's start while it is in flight: a stop that comes meanwhile waits for it, then stops the dyno. */
  launching?: Promise<unknown>;
  state: DynoState;
  startedAt: Date;
  upAt?: number;
  stopping?: Promise<void>;
  bootFailed?: boolean;
  exit?: DynoExit;
  restarts: number;
  reporting?: Promise<void>;
  stats?: DynoStats;
  /** The dyno's scratch disk was found full (said once in its log until it has room again). */
  diskFull?: boolean;
}

export interface Slot {
  key: string;
  /** The dyno of the app's current release. */
  desired?: DesiredDyno;
  /** The dyno of a release being deployed, if one is. */
  candidate?: DesiredDyno;
  /** A candidate that crashed or failed its checks: kept (state crashed) for the deploy to read, never restarted. */
  failedCandidate?: Instance;
  current?: Instance;
  next?: Instance;
  crashes: number;
  restartAt: number;
  /** The instance that crashed last (its row stays, state crashed, until the restart replaces it). */
  crashed?: Instance;
  /** ps:restart asked for a fresh instance of the same generation. */
  restart?: boolean;
  /** The restartAt a wake-up timer is set for. */
  wakeAt?: number;
}

export const describe = (s: number | null) => (s === null ? 'unknown' : String(s));
/** A new container name for a dyno of this agent (web.2 of release v7 → slipway-APP-v7-web-2-aPID-GEN). */
export const containerName = (d: DesiredDyno) =>
  mintContainerName({ app: d.app, release: { version: d.release.version }, process: d.type, index: Number(d.name.split('.')[1]) }, 'agent');


export function backoffDelay(crashes: number, baseMs: number, maxMs: number): number {
  if (crashes <= 1) return 0;
  return Math.min(maxMs, baseMs * 2 ** (crashes - 2));
}

/** What a slot's decisions act through (the agent's own functions). */
export interface SlotActions {
  start(slot: Slot, d: DesiredDyno, as: 'current' | 'next'): Promise<void>;
  stop(inst: Instance): Promise<void>;
  forget(inst: Instance): Promise<void>;
  later(ms: number, fn: () => void): void;
  kick(): Promise<void>;
  fail(what: string): (e: Error) => void;
}

/**
 * A release being deployed, in one slot: its candidate starts beside the current dyno, and takes over once its
 * release is the current one; a next instance that belongs to neither release (its deploy failed, or another
 * came) is stopped.
 */
export function settleCandidate(slot: Slot, a: SlotActions): void {
  const { desired: d, candidate: c } = slot;
  const next = slot.next;
  if (next && next.desired.generation !== d?.generation && next.desired.generation !== c?.generation) {
    slot.next = undefined;
    void a.stop(next);
  }
  if (slot.failedCandidate && slot.failedCandidate.desired.generation !== c?.generation) {
    void a.forget(slot.failedCandidate);
    slot.failedCandidate = undefined;
  }
  const n = slot.next;
  if (n?.desired.candidate && d && n.desired.generation === d.generation && n.state === 'up' && slot.current?.desired.generation !== d.generation) {
    const old = slot.current;
    slot.current = n;
    n.desired = d; // a dyno of the current release from now on: restarted like any other
    slot.next = undefined;
    if (old) void a.stop(old);
  }
  if (c && !slot.next && slot.current?.desired.generation !== c.generation && slot.failedCandidate?.desired.generation !== c.generation) {
    void a.start(slot, c, 'next').catch(a.fail('start'));
  }
}

/** The slot's dyno of the current release: started, restarted after its backoff, or replaced on a new generation. */
export function keepCurrent(slot: Slot, d: DesiredDyno, now: number, a: SlotActions): void {
  const cur = slot.current;
  if (!cur && !slot.next) {
    slot.restart = false;
    if (now >= slot.restartAt) void a.start(slot, d, 'current').catch(a.fail('start'));
    else if (slot.wakeAt !== slot.restartAt) {
      // Not due yet (a timer may fire a millisecond before the wall clock says so): look again when it is.
      slot.wakeAt = slot.restartAt;
      a.later(slot.restartAt - now + 1, () => void a.kick());
    }
    return;
  }
  if (cur && (cur.desired.generation !== d.generation || slot.restart) && !slot.next && !cur.stopping && now >= slot.restartAt) {
    slot.restart = false;
    if (d.type === 'web' && cur.state === 'up') void a.start(slot, d, 'next').catch(a.fail('start'));
    else void a.stop(cur).then(() => {
      if (slot.current === cur) slot.current = undefined;
      a.kick();
    });
  }
}

/**
 * A full scratch disk is ENOSPC for the app, which keeps running: the line for its log naming the quota, once per
 * time it fills (undefined otherwise).
 */
export function diskQuotaNotice(inst: Instance, s: DynoStats): string | undefined {
  if (s.diskBytes === undefined || !s.diskLimitBytes) return undefined;
  const full = diskFull({ usedBytes: s.diskBytes, totalBytes: s.diskLimitBytes });
  const first = full && !inst.diskFull;
  inst.diskFull = full;
  const mb = (n: number) => Math.round(n / 2 ** 20);
  return first
    ? `Disk quota exceeded -> /app and /tmp hold ${mb(s.diskBytes)} MB of the ${mb(inst.spec.size.diskBytes)} MB disk of a ${inst.spec.size.name} dyno; writes fail with ENOSPC`
    : undefined;
}
