/**
 * An AgentStore in memory, for the agent's fast tests: told what is desired (what the PostgreSQL store derives
 * from formation, releases and placement), it keeps what the agent reports. One conformance suite
 * (test/integration/agent-store-conformance.test.ts) runs against it and the PostgreSQL store.
 */
import type { DynoStats } from '../runner.js';
import type { AgentStore, DesiredDyno, DynoReport } from './agent-types.js';

export class MemoryAgentStore implements AgentStore {
  private want: DesiredDyno[] = [];
  /** What the agent reported, by container id, with its last stats. */
  readonly reports = new Map<string, DynoReport & { stats?: DynoStats }>();
  /** One-offs placed here: their container once claimed. */
  private readonly oneOffs = new Map<string, string | undefined>();

  setDesired(dynos: DesiredDyno[]): void {
    this.want = dynos.map((d) => ({ ...d }));
  }

  /** A one-off the control plane placed on this agent, not started yet. */
  addOneOff(dynoId: string): void {
    this.oneOffs.set(dynoId, undefined);
  }

  async desired(): Promise<DesiredDyno[]> {
    return this.want.map((d) => ({ ...d }));
  }

  async report(r: DynoReport): Promise<void> {
    this.reports.set(r.id, { ...this.reports.get(r.id), ...r });
  }

  async forget(id: string): Promise<void> {
    this.reports.delete(id);
  }

  async claimOneOff(dynoId: string, containerId: string): Promise<boolean> {
    if (!this.oneOffs.has(dynoId) || this.oneOffs.get(dynoId) !== undefined) return false;
    this.oneOffs.set(dynoId, containerId);
    return true;
  }

  async reset(): Promise<void> {
    this.reports.clear();
  }

  async stats(id: string, s: DynoStats): Promise<void> {
    const r = this.reports.get(id);
    if (r) r.stats = s;
  }
}
