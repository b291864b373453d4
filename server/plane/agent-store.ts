/**
 * The agent's side of the control-plane contract, on PostgreSQL: the dynos it should run (formation × each app's
 * current release, and × the release being deployed, as candidates; only those placed on it), its reports of what
 * runs, and the one-offs the API created and placed on it.
 */
import { dynoSize } from '../../runner/index.js';
import type { AgentStore, DesiredDyno, DynoReport, OneOffDyno } from '../../runner/index.js';
import type { DynoStats } from '../../runner/index.js';
import type { Db } from '../db/pool.js';
import type { EventBus } from '../events.js';
import { currentReleaseId, deployingReleaseId } from './current-release.js';
import { checksFor, type HealthCheck } from '../../platform/health-check.js';
import { createPlacement, slotKey } from './placement.js';
import type { EgressPolicy } from '../../platform/egress.js';
import type { AddonEndpoint } from '../../runner/index.js';
import { ADDON_ENDPOINTS_OF } from '../addons/store.js';

/** The agent's view of Postgres: desired dynos from formation × current release, and its reports back. */
export function createPgAgentStore(db: Db, agentId: string, events: EventBus | undefined): AgentStore {
  const publish = (appId: string) => events?.publish({ kind: 'dynos', appId });
  const placement = createPlacement(db);
  return {
    async desired(): Promise<DesiredDyno[]> {
      const formation = (release: string, candidate: boolean) => `
        SELECT a.id AS app_id, a.name AS app, a.uid, a.egress, ${ADDON_ENDPOINTS_OF('a.id')} AS addons, f.type, f.quantity, f.size, r.id AS release_id, r.version, r.config,
               r.process_types ->> f.type AS command, s.digest, s.healthchecks -> f.type AS checks, ${candidate} AS candidate
          FROM formation f JOIN apps a ON a.id = f.app_id
          JOIN releases r ON r.id = ${release}
          LEFT JOIN slugs s ON s.id = r.slug_id
         WHERE f.quantity > 0`;
      const r = await db.query<{
        app_id: string; app: string; uid: number; egress: EgressPolicy; addons: AddonEndpoint[]; type: string; quantity: number; size: string; release_id: string; version: number;
        config: Record<string, string>; command: string | null; digest: string | null; checks: HealthCheck[] | null; candidate: boolean;
      }>(`${formation(currentReleaseId('a.id'), false)} UNION ALL ${formation(deployingReleaseId('a.id'), true)}`);
      const mine = await placement.placedOn(agentId);
      const out: DesiredDyno[] = [];
      for (const row of r.rows) {
        if (!row.command || !row.digest) continue; // the release has no such type, or no slug yet
        const size = dynoSize(row.size) ?? dynoSize(undefined)!;
        for (let i = 1; i <= row.quantity; i++) {
          if (!mine.has(slotKey(row.app_id, row.type, i))) continue; // placed on another agent
          out.push({
            appId: row.app_id, app: row.app, type: row.type, name: `${row.type}.${i}`, command: row.command, config: row.config, size,
            release: { id: row.release_id, version: row.version, slugDigest: row.digest }, uid: row.uid, egress: row.egress, addons: row.addons,
            // A new egress policy replaces the dynos (without downtime), as a new release does.
            generation: `${row.release_id}/${size.name}/${JSON.stringify(row.egress)}`,
            ...(row.candidate ? { candidate: true, checks: checksFor(row.type, row.checks, row.config) } : {}),
          });
        }
      }
      return out;
    },
    async report(d: DynoReport) {
      const prev = await db.query<{ state: string }>('SELECT state FROM dynos WHERE container_id = $1', [d.id]);
      await db.query(
        `INSERT INTO dynos (app_id, release_id, agent_id, name, type, command, size, state, container_id, address, port, restarts, exit_code, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (container_id) DO UPDATE SET state = $8, address = $10, port = $11, restarts = $12, exit_code = $13, updated_at = now()`,
        [d.appId, d.releaseId, agentId, d.name, d.type, d.command, d.size, d.state, d.id, d.host ?? null, d.port ?? null, d.restarts, d.exitCode ?? null, d.startedAt],
      ).catch((e: { code?: string }) => {
        if (e.code === '23503') return; // the app was destroyed meanwhile: nothing to report on
        throw e;
      });
      if (prev.rows[0]?.state !== d.state) await publish(d.appId);
    },
    async claimOneOff(dynoId: string, containerId: string) {
      const r = await db.query(
        `UPDATE dynos SET container_id = $2, updated_at = now() WHERE id = $1 AND agent_id = $3 AND container_id IS NULL AND state = 'starting'`,
        [dynoId, containerId, agentId]);
      return r.rowCount === 1;
    },
    async forget(id: string) {
      const r = await db.query<{ app_id: string }>('DELETE FROM dynos WHERE container_id = $1 RETURNING app_id', [id]);
      if (r.rows[0]) await publish(r.rows[0].app_id);
    },
    async reset() {
      // The dynos this agent ran before, and one-offs nobody attached to or started within 5 minutes (on any agent:
      // theirs may be gone for good). A one-off placed here and not yet started stays for its user to attach.
      const r = await db.query<{ app_id: string }>(
        `DELETE FROM dynos WHERE (agent_id = $1 AND container_id IS NOT NULL)
            OR (type = 'run' AND container_id IS NULL AND created_at < now() - interval '5 minutes') RETURNING app_id`, [agentId]);
      for (const appId of new Set(r.rows.map((x) => x.app_id))) await publish(appId);
    },
    async stats(id: string, s: DynoStats) {
      await db.query(
        `UPDATE dynos SET memory_bytes = $2, memory_limit_bytes = $3, cpu_seconds = $4, pids = $5, stats_at = now() WHERE container_id = $1`,
        [id, s.memoryBytes, s.memoryLimitBytes, s.cpuSeconds, s.pids],
      );
    },
  };
}

/** What the agent needs to start a one-off dyno the API created and placed on it (and nobody started yet). */
export async function loadOneOffDyno(db: Db, agentId: string, dynoId: string, env: Record<string, string>): Promise<OneOffDyno | undefined> {
  const r = await db.query<{
    name: string; command: string; size: string; app_id: string; app: string; release_id: string; version: number;
    config: Record<string, string>; digest: string; uid: number; egress: EgressPolicy; addons: AddonEndpoint[];
  }>(
    `SELECT d.name, d.command, d.size, a.id AS app_id, a.name AS app, a.uid, a.egress, ${ADDON_ENDPOINTS_OF('a.id')} AS addons, r.id AS release_id, r.version, r.config, s.digest
       FROM dynos d JOIN apps a ON a.id = d.app_id JOIN releases r ON r.id = d.release_id JOIN slugs s ON s.id = r.slug_id
      WHERE d.id = $1 AND d.type = 'run' AND d.state = 'starting' AND d.agent_id = $2 AND d.container_id IS NULL`,
    [dynoId, agentId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    dynoId, appId: row.app_id, app: row.app, type: 'run', name: row.name, command: row.command,
    config: { ...row.config, ...env }, size: dynoSize(row.size) ?? dynoSize(undefined)!,
    release: { id: row.release_id, version: row.version, slugDigest: row.digest }, generation: row.release_id,
    uid: row.uid, egress: row.egress, addons: row.addons,
  };
}
