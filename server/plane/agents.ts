/**
 * The agents registry: each host's agent registers itself (by hostname, with its pid, data dir and API URL), beats
 * every few seconds with its free memory, says where it takes attached one-offs, and goes down when it stops. An
 * agent is live while it is up and beat within the last minute; only live agents get dynos placed on them
 * (placement.ts) and one-offs. One agent holds a host: another process registering for the same hostname while
 * the holder's pid still runs there is refused, naming the holder. Postgres is where every role finds it.
 */
import { withTransaction, type Db, type DbClient } from '../db/pool.js';

export interface AgentFacts {
  hostname: string;
  /** Where the CLI reaches this host's rendezvous for attached one-offs (SLIPWAY_AGENT_ADDRESS). */
  address: string;
  memoryTotal: number;
  memoryFree: number;
  /** This agent's process, its platform's data dir and API URL: what a second `slipway up` is told. */
  pid: number;
  dataDir: string;
  apiUrl: string;
}

/** The agent that holds a host. */
export interface HostHolder {
  pid: number;
  dataDir: string | null;
  apiUrl: string | null;
  seenSecondsAgo: number;
}

/** SQL: the agent row t (a table name or alias) is live: up, and it beat within the last minute. */
export const liveAgent = (t = 'agents') => `${t}.state = 'up' AND ${t}.last_seen_at > now() - interval '1 minute'`;

/** Another process on this host that registered for it and still runs. */
export class HostTaken extends Error {
  constructor(readonly holder: HostHolder) {
    super(`another Slipway agent (pid ${holder.pid}) holds this host`);
  }
}

/** What a second `slipway up` (or agent) on a held host is told: which one runs, and how to stop it. */
export function hostTakenMessage(h: HostHolder): string {
  const where = [h.dataDir && `data dir ${h.dataDir}`, h.apiUrl && `API ${h.apiUrl}`].filter(Boolean).join(', ');
  return `Slipway is already running on this host: its agent is pid ${h.pid}${where ? ` (${where})` : ''}, seen ${h.seenSecondsAgo} s ago. ` +
    'One Slipway runs per host: stop that one first (Ctrl-C where it runs, or SIGTERM to its `slipway up`), or use it.';
}

const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export function createAgentRegistry(db: Db) {
  /** The live agent registered for hostname whose process still runs on this host (callers are on that host). */
  async function holder(hostname: string, q: DbClient = db): Promise<HostHolder | undefined> {
    const r = await q.query<{ pid: number | null; data_dir: string | null; api_url: string | null; ago: number }>(
      `SELECT pid, data_dir, api_url, extract(epoch FROM now() - last_seen_at)::float AS ago FROM agents WHERE hostname = $1 AND ${liveAgent()}`, [hostname]);
    const row = r.rows[0];
    if (!row?.pid || !running(row.pid)) return undefined;
    return { pid: row.pid, dataDir: row.data_dir, apiUrl: row.api_url, seenSecondsAgo: Math.round(row.ago) };
  }
  return {
    holder,
    /** Registers this host's agent (again, after a restart); its id. HostTaken when another live one holds it. */
    async register(a: AgentFacts): Promise<string> {
      return withTransaction(db, async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agent-host:${a.hostname}`]);
        const h = await holder(a.hostname, tx);
        if (h && h.pid !== a.pid) throw new HostTaken(h);
        return (await tx.query<{ id: string }>(
          `INSERT INTO agents (hostname, address, memory_total, memory_free, pid, data_dir, api_url, last_seen_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now(), 'up')
           ON CONFLICT (hostname) DO UPDATE SET address = $2, memory_total = $3, memory_free = $4, pid = $5, data_dir = $6, api_url = $7,
             last_seen_at = now(), state = 'up', updated_at = now()
           RETURNING id`,
          [a.hostname, a.address, a.memoryTotal, a.memoryFree, a.pid, a.dataDir, a.apiUrl],
        )).rows[0].id;
      });
    },
    /** The agent is alive: its figures and last-seen time (only while this process still holds its row). */
    async heartbeat(id: string, a: AgentFacts): Promise<void> {
      await db.query(
        `UPDATE agents SET address = $2, memory_total = $3, memory_free = $4, last_seen_at = now(), state = 'up', updated_at = now()
          WHERE id = $1 AND pid = $5`,
        [id, a.address, a.memoryTotal, a.memoryFree, a.pid]);
    },
    async setRendezvousPort(id: string, port: number): Promise<void> {
      await db.query('UPDATE agents SET rendezvous_port = $2 WHERE id = $1', [id, port]);
    },
    async down(id: string, pid: number): Promise<void> {
      await db.query(`UPDATE agents SET state = 'down', updated_at = now() WHERE id = $1 AND pid = $2`, [id, pid]);
    },
    /** A live agent to run a one-off: the one with the most free memory. */
    async pickForOneOff(): Promise<{ id: string; address: string; rendezvousPort: number | null } | undefined> {
      const r = await db.query<{ id: string; address: string; rendezvous_port: number | null }>(
        `SELECT id, address, rendezvous_port FROM agents WHERE ${liveAgent()} ORDER BY memory_free DESC NULLS LAST, last_seen_at DESC LIMIT 1`);
      return r.rows[0] ? { id: r.rows[0].id, address: r.rows[0].address, rendezvousPort: r.rows[0].rendezvous_port } : undefined;
    },
  };
}

export type AgentRegistry = ReturnType<typeof createAgentRegistry>;
