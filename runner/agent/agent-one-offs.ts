/**
 * One-off dynos (`slipway run`) on the agent: the same container as any dyno, outside the formation, never
 * restarted, stopped after SLIPWAY_ONE_OFF_HOURS. The control plane created and placed the one-off; the agent
 * claims it (so it starts once), names its container and runs it.
 */
import type { Instance } from './agent-slot.js';
import { containerName, describe } from './agent-slot.js';
import type { AgentStore, OneOffDyno } from './agent-types.js';
import type { DynoExit, DynoHandle, DynoSpec, StartOptions } from '../runner.js';

/** What one-offs use of the agent. */
export interface OneOffContext {
  store: AgentStore;
  maxAgeMs: number;
  event(d: { appId: string }, dyno: string, line: string): void;
  report(inst: Instance): Promise<void>;
  forget(inst: Instance): Promise<void>;
  launch(inst: Instance, opts: StartOptions): Promise<DynoHandle>;
  output(spec: DynoSpec): (line: string) => void | number;
  stop(inst: Instance): Promise<void>;
  fail(what: string): (e: Error) => void;
}

export function createOneOffs(c: OneOffContext) {
  const running = new Map<string, Instance>();

  /**
   * A one-off dyno (`slipway run`): the same container as any dyno, outside the formation. Its output goes to
   * io.onData when attached, else to the log; it is not restarted. Resolves with its exit.
   */
  async function run(d: OneOffDyno, io: { stdin?: NodeJS.ReadableStream; onData?: (chunk: Buffer) => void; tty?: boolean } = {}): Promise<DynoExit> {
    const spec: DynoSpec = { id: containerName(d), app: d.app, appId: d.appId, name: d.name, type: d.type, release: d.release, command: d.command, config: d.config, size: d.size, tty: io.tty, uid: d.uid, egress: d.egress, addons: d.addons };
    const inst: Instance = { spec, desired: d, state: 'starting', startedAt: new Date(), restarts: 0 };
    if (!(await c.store.claimOneOff(d.dynoId, spec.id))) return { code: null, oomKilled: false }; // started already
    running.set(spec.id, inst);
    c.event(d, d.name, `Starting process with command \`${d.command}\`${io.onData ? ' (attached)' : ''}`);
    void c.report(inst);
    try {
      inst.handle = await c.launch(inst, { onLine: c.output(spec), stdin: io.stdin, onData: io.onData });
      inst.state = 'up';
      await c.report(inst);
      c.event(d, d.name, 'State changed from starting to up');
      const maxAge = c.maxAgeMs;
      const aged = setTimeout(() => {
        c.event(d, d.name, `Stopping: one-off dynos run at most ${Math.round(maxAge / 60_000)} minutes on this platform (SLIPWAY_ONE_OFF_HOURS)`);
        void c.stop(inst).catch(c.fail('stopping an aged one-off'));
      }, Math.min(maxAge, 2 ** 31 - 1));
      const exit = (inst.exit = await inst.handle.exited.finally(() => clearTimeout(aged)));
      c.event(d, d.name, `Process exited with status ${describe(exit.code)}`);
      if (exit.oomKilled) c.event(d, d.name, 'Error R15 (Memory quota vastly exceeded)');
      c.event(d, d.name, 'State changed from up to complete');
      return exit;
    } catch (e) {
      c.event(d, d.name, `Error: the dyno could not start: ${(e as Error).message}`);
      return (inst.exit = { code: null, oomKilled: false });
    } finally {
      running.delete(spec.id);
      await c.forget(inst);
    }
  }

  return {
    /** The one-offs running now, by container id. */
    running,
    run,
    /** ps:stop of run.N (or every one-off of the app): SIGTERM, then SIGKILL after the grace. */
    stop(appId: string, target: { type?: string; name?: string }): void {
      for (const inst of running.values()) {
        const d = inst.desired;
        if (d.appId !== appId || (target.type && d.type !== target.type) || (target.name && d.name !== target.name)) continue;
        void c.stop(inst).catch(c.fail('stopping a one-off'));
      }
    },
  };
}
