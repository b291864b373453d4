/**
 * The agent's logic, independent of where desired state lives: it reconciles the desired dynos (from a store —
 * Postgres in production) with what its Runner runs, and reports back. Heroku's rules:
 * - a web dyno is up once it accepts TCP on $PORT, else after the boot timeout `Error R10 (Boot timeout)`;
 *   other types are up once started;
 * - a crashed dyno restarts immediately, then after 10 s, doubling up to 5 min; the count resets after 10 minutes
 *   up, on a new release and on a restart;
 * - stopping sends SIGTERM to every process, waits the grace period, then SIGKILL with `Error R12 (Exit timeout)`;
 * - an OOM kill inside the dyno's cgroup is `Error R15 (Memory quota vastly exceeded)` and a restart;
 * - a changed generation (release, size, restart) replaces a dyno: web dynos start the new one first and stop the
 *   old one once the new one is up (no request dropped); other types stop first (no two clocks at once).
 * Here: each dyno's life (start, checks, crash, stop) and the reconcile loop; what is decided per slot at each
 * reconcile is in agent-slot.ts, one-off dynos in agent-one-offs.ts.
 */
import type { AgentOptions, DesiredDyno, DynoReport, DynoState } from './agent-types.js';
import { dynoOutput } from './dyno-output.js';
import { runHealthChecks, waitForPort } from './health-check.js';
import { createOneOffs } from './agent-one-offs.js';
import { backoffDelay, containerName, describe, diskQuotaNotice, keepCurrent, settleCandidate, type Instance, type Slot, type SlotActions } from './agent-slot.js';
import type { DynoHandle, DynoSpec, StartOptions } from '../runner.js';

export { backoffDelay } from './agent-slot.js';
export type { AgentOptions, AgentStore, DesiredDyno, DynoReport, DynoState, LogSink, OneOffDyno } from './agent-types.js';

export function createAgent(o: AgentOptions) {
  const bootTimeoutMs = o.bootTimeoutMs ?? 60_000;
  const stopGraceMs = o.stopGraceMs ?? 30_000;
  const backoffMs = o.backoffMs ?? 10_000;
  const maxBackoffMs = o.maxBackoffMs ?? 300_000;
  const resetAfterMs = o.resetAfterMs ?? 600_000;
  const maxLines = o.maxLinesPerSecond ?? 2000;
  const drainMs = o.drainMs ?? 1000;
  const slots = new Map<string, Slot>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const fail = (what: string) => (e: Error) => o.onError?.(what, e);
  const output = (spec: DynoSpec) => dynoOutput(spec, { maxLines, logs: o.logs, event: (line) => event(spec, spec.name, line), later });
  /** The routers no longer send to the app's stopping dynos: confirmed by them, or (with no way to ask) timed. */
  const drained = (appId: string): Promise<unknown> =>
    o.routesDropped ? o.routesDropped(appId).catch(fail('waiting for the routers')) : drainMs > 0 ? new Promise((r) => later(drainMs, () => r(undefined))) : Promise.resolve();
  const event = (d: { appId: string }, dyno: string, line: string) => o.logs.write(d.appId, 'slipway', dyno, line);
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  /** Reports of one dyno go out in order (each waits for the one before), so the store ends with the last state. */
  const report = (inst: Instance): Promise<void> => {
    const r: DynoReport = {
      id: inst.spec.id, appId: inst.spec.appId, name: inst.spec.name, type: inst.spec.type, releaseId: inst.spec.release.id,
      command: inst.spec.command, size: inst.spec.size.name, state: inst.state, host: inst.handle?.host, port: inst.handle?.port,
      restarts: inst.restarts, exitCode: inst.exit?.code, startedAt: inst.startedAt,
    };
    inst.reporting = (inst.reporting ?? Promise.resolve()).then(() => o.store.report(r)).catch(fail('report'));
    return inst.reporting;
  };
  const forget = (inst: Instance): Promise<void> => {
    inst.reporting = (inst.reporting ?? Promise.resolve()).then(() => o.store.forget(inst.spec.id)).catch(fail('forget'));
    return inst.reporting;
  };

  function setState(inst: Instance, state: DynoState): void {
    if (inst.state === state) return;
    event(inst.spec, inst.spec.name, `State changed from ${inst.state} to ${state}`);
    inst.state = state;
    void report(inst);
  }

  async function start(slot: Slot, d: DesiredDyno, as: 'current' | 'next'): Promise<void> {
    const spec: DynoSpec = {
      id: containerName(d),
      app: d.app, appId: d.appId, name: d.name, type: d.type, release: d.release, command: d.command, config: d.config, size: d.size,
      uid: d.uid, egress: d.egress, addons: d.addons,
    };
    const inst: Instance = { spec, desired: d, state: 'starting', startedAt: new Date(), restarts: d.candidate ? 0 : slot.crashes };
    slot[as] = inst;
    if (slot.crashed && !d.candidate) {
      void forget(slot.crashed);
      slot.crashed = undefined;
    }
    event(d, d.name, `Starting process with command \`${d.command}\`${d.candidate ? ` (release v${d.release.version}, being deployed)` : ''}`);
    void report(inst);
    try {
      inst.handle = await launch(inst, { onLine: output(spec) });
    } catch (e) {
      event(d, d.name, `Error: the dyno could not start: ${(e as Error).message}`);
      inst.exit = { code: null, oomKilled: false };
      return crashed(slot, inst);
    }
    void report(inst);
    let exited = false;
    void inst.handle.exited.then((exit) => {
      exited = true;
      inst.exit = exit;
      onExit(slot, inst);
    });
    if (inst.stopping) return; // stopped while it launched: stop() takes it from here
    const alive = () => !exited && !inst.stopping;
    if (d.type === 'web' && !(await waitForPort(inst.handle.host, inst.handle.port, Date.now() + bootTimeoutMs, alive))) {
      if (!alive()) return;
      return failBoot(inst, `Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${Math.round(bootTimeoutMs / 1000)} seconds of launch`);
    }
    if (d.checks?.length) {
      const why = await runHealthChecks(inst.handle.host, inst.handle.port, d.checks, inst.startedAt.getTime(), alive);
      if (!alive()) return;
      if (why) return failBoot(inst, `Error: health ${why}`);
    }
    if (!alive()) return;
    inst.upAt = Date.now();
    setState(inst, 'up');
    if (d.candidate) return void kick(); // promoted by reconcile once its release is current
    // A replacement is up: it takes over and the instance it replaces drains.
    if (as === 'next' && slot.next === inst) {
      const old = slot.current;
      slot.current = inst;
      slot.next = undefined;
      if (old) void stop(old);
    }
  }

  /** A dyno that did not come up (R10, a failed check): said in the log, killed, then handled as a crash. */
  async function failBoot(inst: Instance, why: string): Promise<void> {
    inst.bootFailed = true;
    event(inst.spec, inst.spec.name, why);
    event(inst.spec, inst.spec.name, 'Stopping process with SIGKILL');
    await o.runner.signal(inst.spec.id, 'KILL');
  }

  function onExit(slot: Slot, inst: Instance): void {
    const exit = inst.exit!;
    if (exit.oomKilled) event(inst.spec, inst.spec.name, 'Error R15 (Memory quota vastly exceeded)');
    event(inst.spec, inst.spec.name, `Process exited with status ${describe(exit.code)}`);
    if (inst.stopping) return; // stop() finishes the bookkeeping
    crashed(slot, inst);
  }

  function crashed(slot: Slot, inst: Instance): void {
    if (inst.desired.candidate) {
      // A release being deployed failed here: the deploy reads this row and fails the release; no restart.
      if (slot.next === inst) slot.next = undefined;
      setState(inst, 'crashed');
      if (slot.failedCandidate && slot.failedCandidate !== inst) void forget(slot.failedCandidate);
      slot.failedCandidate = inst;
      return;
    }
    if (slot.current === inst) slot.current = undefined;
    if (slot.next === inst) slot.next = undefined;
    if (inst.upAt && Date.now() - inst.upAt >= resetAfterMs) slot.crashes = 0;
    slot.crashes++;
    setState(inst, 'crashed');
    slot.crashed = inst;
    const delay = backoffDelay(slot.crashes, backoffMs, maxBackoffMs);
    slot.restartAt = Date.now() + delay;
    if (delay > 0) event(inst.spec, inst.spec.name, `Restarting in ${Math.round(delay / 1000)} s (crash ${slot.crashes})`);
    later(delay, () => kick());
  }

  /** Starts the instance's dyno; a stop that comes meanwhile finds `launching` and waits for the handle. */
  function launch(inst: Instance, opts: StartOptions): Promise<DynoHandle> {
    const launching = o.runner.start(inst.spec, opts);
    inst.launching = launching.catch(() => undefined);
    return launching;
  }

  /** Dynos being stopped, wherever the stop began (a scale-down, a destroyed app): agent.stop() waits for them. */
  const stopping = new Set<Instance>();

  async function stop(inst: Instance): Promise<void> {
    if (inst.stopping) return inst.stopping;
    stopping.add(inst);
    inst.stopping = (async () => {
      if (!inst.handle && inst.launching) await inst.launching; // never leave a dyno that was still launching
      if (!inst.handle) return;
      if (inst.exit) return;
      const wasUp = inst.state === 'up';
      inst.state = 'stopping';
      await report(inst);
      if (inst.spec.type === 'web' && wasUp) await drained(inst.spec.appId);
      event(inst.spec, inst.spec.name, 'Stopping all processes with SIGTERM');
      await o.runner.signal(inst.spec.id, 'TERM');
      const gone = await Promise.race([inst.handle.exited.then(() => true), new Promise<boolean>((r) => later(stopGraceMs, () => r(false)))]);
      if (!gone) {
        event(inst.spec, inst.spec.name, `Error R12 (Exit timeout) -> At least one process failed to exit within ${Math.round(stopGraceMs / 1000)} seconds of SIGTERM`);
        event(inst.spec, inst.spec.name, 'Stopping process with SIGKILL');
        await o.runner.signal(inst.spec.id, 'KILL');
        await inst.handle.exited;
      }
      event(inst.spec, inst.spec.name, `State changed from ${wasUp ? 'up' : 'starting'} to down`);
    })().finally(() => {
      stopping.delete(inst);
      return forget(inst);
    });
    return inst.stopping;
  }

  const actions: SlotActions = { start, stop, forget, later, kick, fail };

  async function reconcileOnce(): Promise<void> {
    const now = Date.now();
    const wanted = new Map<string, { d?: DesiredDyno; c?: DesiredDyno }>();
    for (const x of await o.store.desired()) {
      const key = `${x.appId}/${x.name}`;
      const w = wanted.get(key) ?? {};
      if (x.candidate) w.c = x;
      else w.d = x;
      wanted.set(key, w);
    }
    for (const [key, { d, c }] of wanted) {
      let slot = slots.get(key);
      if (!slot) slots.set(key, (slot = { key, crashes: 0, restartAt: 0 }));
      if (d && slot.desired && slot.desired.generation !== d.generation) {
        slot.crashes = 0; // a new release or a restart starts the count again
        slot.restartAt = 0;
      }
      slot.desired = d;
      slot.candidate = c;
      settleCandidate(slot, actions);
      if (d) keepCurrent(slot, d, now, actions);
    }
    for (const [key, slot] of slots) {
      if (wanted.has(key)) continue;
      slot.desired = undefined;
      const all = [slot.current, slot.next].filter((i): i is Instance => !!i);
      slots.delete(key);
      for (const gone of [slot.crashed, slot.failedCandidate]) if (gone) void forget(gone);
      for (const inst of all) void stop(inst);
    }
  }

  /** Runs a reconcile now, or right after the one in progress. */
  function kick(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await reconcileOnce().catch(fail('reconcile'));
      } while (again && !stopped);
    })().finally(() => (running = undefined));
    return running;
  }

  async function sampleStats(): Promise<void> {
    for (const slot of slots.values()) {
      for (const inst of [slot.current, slot.next]) {
        if (!inst?.handle || inst.exit) continue;
        const s = await o.runner.stats(inst.spec.id).catch(() => undefined);
        if (!s) continue;
        inst.stats = s;
        const notice = diskQuotaNotice(inst, s);
        if (notice) event(inst.spec, inst.spec.name, notice);
        await o.store.stats(inst.spec.id, s).catch(fail('stats'));
      }
    }
  }

  const oneOffs = createOneOffs({
    store: o.store, maxAgeMs: o.oneOffMaxAgeMs ?? 86_400_000, event, report, forget, launch, output, stop, fail,
  });

  /** ps:restart: replaces the app's dynos (of a type, or one by name), web ones without downtime; resets backoff. */
  function restart(appId: string, target: { type?: string; name?: string } = {}): Promise<void> {
    for (const slot of slots.values()) {
      const d = slot.desired;
      if (!d || d.appId !== appId) continue;
      if (target.type && d.type !== target.type) continue;
      if (target.name && d.name !== target.name) continue;
      slot.restart = true;
      slot.crashes = 0;
      slot.restartAt = 0;
    }
    return kick();
  }

  let loop: NodeJS.Timeout | undefined;
  let statsLoop: NodeJS.Timeout | undefined;
  return {
    /** Cleans what a previous agent left, then reconciles now and every reconcileMs. */
    async start(): Promise<{ cleaned: string[] }> {
      const cleaned = await o.runner.list();
      for (const id of cleaned) await o.runner.cleanup(id);
      await o.store.reset();
      await kick();
      loop = setInterval(() => void kick(), o.reconcileMs ?? 5000);
      statsLoop = setInterval(() => void sampleStats(), o.statsMs ?? 5_000);
      return { cleaned };
    },
    /** Something changed (a release, the formation): reconcile now. */
    kick,
    runOneOff: oneOffs.run,
    restart,
    /** ps:stop: one-offs get SIGTERM, then SIGKILL after the grace; formation dynos are replaced as by restart. */
    async stopDynos(appId: string, target: { type?: string; name?: string } = {}): Promise<void> {
      oneOffs.stop(appId, target);
      if (target.type !== 'run' && !target.name?.startsWith('run.')) await restart(appId, target);
    },
    /** Stops every dyno (SIGTERM, grace, SIGKILL) and reports them gone. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(loop);
      clearInterval(statsLoop);
      await running;
      const all = [...slots.values()].flatMap((s) => [s.current, s.next, s.crashed, s.failedCandidate]).filter((i): i is Instance => !!i);
      for (const inst of oneOffs.running.values()) if (inst.handle) await o.runner.signal(inst.spec.id, 'KILL');
      slots.clear();
      await Promise.all(all.map((i) => (i.exit ? forget(i) : stop(i))));
      // Stops begun before this one (a scale-down, a destroyed app) finish too: no dyno outlives its agent.
      await Promise.all([...stopping].map((i) => i.stopping));
      await Promise.all(all.map((i) => i.reporting));
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    /**
     * The apps and slugs this agent still has dynos of (starting, up, crashed or still stopping): what must not be
     * tidied away yet (an app's log stream, an unpacked slug).
     */
    inUse(): { apps: Set<string>; digests: Set<string> } {
      const all = [...[...slots.values()].flatMap((s) => [s.current, s.next, s.crashed, s.failedCandidate]), ...stopping, ...oneOffs.running.values()].filter((i): i is Instance => !!i);
      return { apps: new Set(all.map((i) => i.spec.appId)), digests: new Set(all.map((i) => i.spec.release.slugDigest)) };
    },
    /** What runs now, for tests and diagnostics. */
    snapshot() {
      return [...slots.values()].map((s) => ({
        key: s.key, crashes: s.crashes,
        current: s.current && { id: s.current.spec.id, state: s.current.state, host: s.current.handle?.host, port: s.current.handle?.port, release: s.current.spec.release.version },
        next: s.next && { id: s.next.spec.id, state: s.next.state },
      }));
    },
  };
}

export type Agent = ReturnType<typeof createAgent>;
