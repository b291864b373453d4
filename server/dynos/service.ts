/**
 * Formation (the desired dynos: process type → quantity and size) and dynos (what the agents report running).
 * The formation is set by the first deploy (web=1, other types 0) and by scaling; the agent reconciles to it.
 */
import { couldNameDyno } from '../names.js';
import { DEFAULT_DYNO_SIZE, DYNO_SIZES, type DynoSize } from '../../runner/index.js';
import type { Db, DbClient } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { invalidParams, notFound, quotaExceeded } from '../errors.js';
import type { EventBus } from '../events.js';
import type { App } from '../apps/service.js';
import { PROCESS_TYPE } from '../../buildpacks/index.js';
import { currentReleaseId } from '../plane/current-release.js';
import type { FormationUpdate, OneOffInput } from './input.js';

export { parseFormationUpdate, parseOneOff, type FormationUpdate, type OneOffInput } from './input.js';

export interface FormationRow {
  id: string;
  app_id: string;
  app_name: string;
  type: string;
  quantity: number;
  size: string;
  command: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface DynoRow {
  id: string;
  app_id: string;
  app_name: string;
  release_id: string;
  release_version: number;
  name: string;
  type: string;
  command: string;
  size: string;
  state: string;
  container_id: string;
  address: string | null;
  port: number | null;
  restarts: number;
  exit_code: number | null;
  memory_bytes: string | null;
  memory_limit_bytes: string | null;
  cpu_seconds: number | null;
  pids: number | null;
  stats_at: Date | null;
  started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * The release's process types get formation rows on their first appearance: what the slug's app.json `formation`
 * says, else web 1 and others 0 (Heroku's first deploy). A type already in the formation keeps its scale.
 */
export async function ensureFormation(tx: DbClient, appId: string, processTypes: Record<string, string>, slugId: string | null): Promise<void> {
  const types = Object.keys(processTypes).filter((t) => t !== 'release');
  if (types.length === 0) return;
  await tx.query(
    `INSERT INTO formation (app_id, type, quantity, size)
     SELECT $1, t, COALESCE((s.formation -> t ->> 'quantity')::int, CASE WHEN t = 'web' THEN 1 ELSE 0 END),
            COALESCE(s.formation -> t ->> 'size', $4)
       FROM unnest($2::text[]) t LEFT JOIN slugs s ON s.id = $3
     ON CONFLICT (app_id, type) DO NOTHING`,
    [appId, types, slugId, DEFAULT_DYNO_SIZE],
  );
}

const FORMATION_COLUMNS = `f.id, f.app_id, a.name AS app_name, f.type, f.quantity, f.size, cr.process_types ->> f.type AS command, f.created_at, f.updated_at`;
const FORMATION_FROM = `FROM formation f JOIN apps a ON a.id = f.app_id LEFT JOIN releases cr ON cr.id = ${currentReleaseId('a.id')}`;
const DYNO_COLUMNS = `d.id, d.app_id, a.name AS app_name, d.release_id, r.version AS release_version, d.name, d.type, d.command, d.size, d.state,
  d.container_id, host(d.address) AS address, d.port, d.restarts, d.exit_code, d.memory_bytes, d.memory_limit_bytes, d.cpu_seconds, d.pids,
  d.stats_at, d.started_at, d.created_at, d.updated_at`;
const DYNO_FROM = 'FROM dynos d JOIN apps a ON a.id = d.app_id JOIN releases r ON r.id = d.release_id';
/** web.2 after web.1, web.10 after web.9. */
const DYNO_ORDER = `d.type, (split_part(d.name, '.', 2))::int NULLS LAST, d.created_at`;

export interface DynoLimits {
  /** The most dynos of one process type (SLIPWAY_MAX_DYNOS). */
  maxQuantity: number;
  /** Sizes apps may use (SLIPWAY_DYNO_SIZES); all of DYNO_SIZES when unset. */
  sizes?: readonly string[];
  /** One-off dynos running at once per app (SLIPWAY_MAX_ONE_OFFS). */
  oneOffsPerApp?: number;
  /** The largest size a user who is not an administrator may ask for (SLIPWAY_USER_MAX_SIZE). */
  userMaxSize?: string;
}

/** Who asks (a size above the platform's limit for users is for administrators). */
export interface Asker {
  is_admin: boolean;
}

function checkSize(limits: DynoLimits, size: string | undefined, asker: Asker | undefined): void {
  if (!size) return;
  if (limits.sizes && !limits.sizes.includes(size)) throw invalidParams(`Size ${size} is not offered on this platform. Sizes: ${limits.sizes.join(', ')}.`);
  const rank = (n: string) => DYNO_SIZES.findIndex((s) => s.name === n);
  if (limits.userMaxSize && asker && !asker.is_admin && rank(size) > rank(limits.userMaxSize)) {
    throw quotaExceeded(`Size ${size} is larger than users may ask for on this platform (up to ${limits.userMaxSize}, SLIPWAY_USER_MAX_SIZE); an administrator can set it.`);
  }
}

export function createDynoService(db: Db, events?: EventBus, limits: DynoLimits = { maxQuantity: 100 }) {
  return {
    /** The sizes this platform offers (GET /dyno-sizes). */
    sizes(): DynoSize[] {
      return DYNO_SIZES.filter((s) => !limits.sizes || limits.sizes.includes(s.name));
    },

    async formation(app: App): Promise<FormationRow[]> {
      return (await db.query(`SELECT ${FORMATION_COLUMNS} ${FORMATION_FROM} WHERE f.app_id = $1 ORDER BY f.type`, [app.id])).rows;
    },

    async formationOf(app: App, type: string): Promise<FormationRow> {
      if (!PROCESS_TYPE.test(type) || type.length > 30) throw notFound(`Couldn't find that process type (${type.slice(0, 40)}).`);
      const r = await db.query(`SELECT ${FORMATION_COLUMNS} ${FORMATION_FROM} WHERE f.app_id = $1 AND f.type = $2`, [app.id, type]);
      if (!r.rows[0]) throw notFound(`Couldn't find that process type (${type}).`);
      return r.rows[0];
    },

    /** Scales one or more types at once (all or nothing). A type the current release lacks is refused. */
    async updateFormation(app: App, updates: FormationUpdate[], asker?: Asker): Promise<FormationRow[]> {
      if (updates.length === 0) throw invalidParams('No formation updates given.');
      if (new Set(updates.map((u) => u.type)).size !== updates.length) throw invalidParams('Each process type may appear once.');
      for (const u of updates) {
        if (u.quantity !== undefined && u.quantity > limits.maxQuantity) throw invalidParams(`${u.type} may have at most ${limits.maxQuantity} dynos on this platform (SLIPWAY_MAX_DYNOS).`);
        checkSize(limits, u.size, asker);
      }
      await withTransaction(db, async (tx) => {
        for (const u of updates) {
          const r = await tx.query(
            `UPDATE formation SET quantity = COALESCE($3, quantity), size = COALESCE($4, size), updated_at = now() WHERE app_id = $1 AND type = $2`,
            [app.id, u.type, u.quantity ?? null, u.size ?? null],
          );
          if (r.rowCount === 0) throw invalidParams(`Couldn't find that process type (${u.type}). ${app.name} has ${await typesOf(tx, app.id)}.`);
        }
      });
      await events?.publish({ kind: 'formation', appId: app.id });
      const rows = await this.formation(app);
      return rows.filter((f) => updates.some((u) => u.type === f.type));
    },

    async list(app: App): Promise<DynoRow[]> {
      return (await db.query(`SELECT ${DYNO_COLUMNS} ${DYNO_FROM} WHERE d.app_id = $1 ORDER BY ${DYNO_ORDER}`, [app.id])).rows;
    },

    async get(app: App, nameOrId: string): Promise<DynoRow> {
      if (!couldNameDyno(nameOrId)) throw notFound(`Couldn't find that dyno (${String(nameOrId).slice(0, 60)}).`);
      const r = await db.query(`SELECT ${DYNO_COLUMNS} ${DYNO_FROM} WHERE d.app_id = $1 AND (d.name = $2 OR d.id::text = $2) ORDER BY d.created_at DESC LIMIT 1`, [app.id, nameOrId]);
      if (!r.rows[0]) throw notFound(`Couldn't find that dyno (${nameOrId.slice(0, 60)}).`);
      return r.rows[0];
    },

    /**
     * A one-off dyno of the current release: a row (run.N, state starting) placed on an agent, which starts it —
     * at once when detached, when the user connects to its attach URL when attached.
     */
    async createOneOff(app: App, input: OneOffInput, on: { agentId: string; prepare?: (dynoId: string) => Promise<void> }, asker?: Asker): Promise<DynoRow> {
      checkSize(limits, input.size, asker);
      const current = (await db.query<{ id: string; version: number; config: Record<string, string>; digest: string | null }>(
        `SELECT r.id, r.version, r.config, s.digest FROM releases r LEFT JOIN slugs s ON s.id = r.slug_id WHERE r.id = ${currentReleaseId('$1')}`, [app.id])).rows[0];
      if (!current?.digest) throw invalidParams(`${app.name} has no release with code yet: push code first.`);
      const row = await withTransaction(db, async (tx) => {
        await tx.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [app.id]);
        const running = Number((await tx.query(`SELECT count(*) AS n FROM dynos WHERE app_id = $1 AND type = 'run' AND state IN ('starting', 'up')`, [app.id])).rows[0].n);
        if (limits.oneOffsPerApp !== undefined && running >= limits.oneOffsPerApp) {
          throw quotaExceeded(`${app.name} already runs ${running} one-off dynos, the most this platform allows an app (SLIPWAY_MAX_ONE_OFFS); stop one first (ps:stop run.N).`);
        }
        const n = (await tx.query<{ n: number }>(
          `SELECT COALESCE(max((split_part(name, '.', 2))::int), 0) + 1 AS n FROM dynos WHERE app_id = $1 AND type = 'run'`, [app.id])).rows[0].n;
        const name = `run.${n}`;
        // No container yet: the agent it is placed on names one when it starts it (container-name.ts).
        const r = await tx.query<{ id: string }>(
          `INSERT INTO dynos (app_id, release_id, agent_id, name, type, command, size, state) VALUES ($1, $2, $3, $4, 'run', $5, $6, 'starting') RETURNING id`,
          [app.id, current.id, on.agentId, name, input.command, input.size ?? DEFAULT_DYNO_SIZE]);
        return r.rows[0].id;
      });
      await on.prepare?.(row);
      if (!input.attach) await events?.publish({ kind: 'run', appId: app.id, dynoId: row });
      return this.get(app, row);
    },

    /** ps:restart: every dyno, a process type (`web`) or one dyno (`web.1`). The agent replaces them. */
    async restart(app: App, target?: { type?: string; name?: string }): Promise<void> {
      await events?.publish({ kind: 'restart', appId: app.id, ...target });
    },

    /** ps:stop (Heroku's dyno stop action): a one-off ends; a dyno of the formation is started again, as on Heroku. */
    async stop(app: App, target: { type?: string; name?: string }): Promise<void> {
      await events?.publish({ kind: 'stop', appId: app.id, ...target });
    },
  };
}

async function typesOf(tx: DbClient, appId: string): Promise<string> {
  const r = await tx.query<{ type: string }>('SELECT type FROM formation WHERE app_id = $1 ORDER BY type', [appId]);
  return r.rows.length ? `these process types: ${r.rows.map((x) => x.type).join(', ')}` : 'no process types yet (push code with a Procfile or a web process first)';
}

export type DynoService = ReturnType<typeof createDynoService>;
