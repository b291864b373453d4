import { freemem, hostname, totalmem } from 'node:os';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';

/** The agent role: this host's runner. Registers the host in `agents` and reports its free memory. */
export async function startAgentRole(p: Platform, log: Logger) {
  const host = hostname();
  const report = () =>
    p.db.query(
      `INSERT INTO agents (hostname, address, memory_total, memory_free, last_seen_at, state)
         VALUES ($1, $2, $3, $4, now(), 'up')
       ON CONFLICT (hostname) DO UPDATE SET memory_total = $3, memory_free = $4, last_seen_at = now(), state = 'up', updated_at = now()`,
      [host, '127.0.0.1', totalmem(), freemem()],
    );
  await report();
  const timer = setInterval(() => report().catch((e: Error) => log.warn('report failed', { error: e.message })), 10_000);
  log.info('registered', { host });
  return {
    async stop() {
      clearInterval(timer);
      await p.db.query(`UPDATE agents SET state = 'down', updated_at = now() WHERE hostname = $1`, [host]).catch(() => undefined);
    },
  };
}
