/**
 * The agents registry: each host's agent registers itself (by hostname), beats every few seconds with its free
 * memory, says where it takes attached one-offs, and goes down when it stops. The API picks an agent for a one-off
 * from here. Postgres is where every role finds it.
 */
import type { Db } from '../db/pool.js';

export interface AgentFacts {
  hostname: string;
  /** Where the router and the CLI reach this host's dynos and rendezvous. */
  address: string;
  memoryTotal: number;
  memoryFree: number;
}

export function createAgentRegistry(db: Db) {
  const upsert = async (a: AgentFacts): Promise<string> =>
    (await db.query<{ id: string }>(
      `INSERT INTO agents (hostname, address, memory_total, memory_free, last_seen_at, state)
         VALUES ($1, $2, $3, $4, now(), 'up')
       ON CONFLICT (hostname) DO UPDATE SET address = $2, memory_total = $3, memory_free = $4, last_seen_at = now(), state = 'up', updated_at = now()
       RETURNING id`,
      [a.hostname, a.address, a.memoryTotal, a.memoryFree],
    )).rows[0].id;
  return {
    /** Registers (or re-registers) this host's agent; its id. */
    register: upsert,
    /** The agent is alive: its figures and last-seen time. */
    heartbeat: upsert,
    async setRendezvousPort(id: string, port: number): Promise<void> {
      await db.query('UPDATE agents SET rendezvous_port = $2 WHERE id = $1', [id, port]);
    },
    async down(hostname: string): Promise<void> {
      await db.query(`UPDATE agents SET state = 'down', updated_at = now() WHERE hostname = $1`, [hostname]);
    },
    /** An agent that is up (seen within a minute) to run a one-off: the one seen last. */
    async pickForOneOff(): Promise<{ address: string; rendezvousPort: number | null } | undefined> {
      const r = await db.query<{ address: string; rendezvous_port: number | null }>(
        `SELECT address, rendezvous_port FROM agents WHERE state = 'up' AND last_seen_at > now() - interval '1 minute' ORDER BY last_seen_at DESC LIMIT 1`);
      return r.rows[0] ? { address: r.rows[0].address, rendezvousPort: r.rows[0].rendezvous_port } : undefined;
    },
  };
}

export type AgentRegistry = ReturnType<typeof createAgentRegistry>;
