/**
 * Which backing service an error says is away, if any: PostgreSQL stopped or restarting, Redis gone. The API answers
 * those with 503 and a message naming the service, not a 500; the caller can simply try again.
 */
export type Backend = 'database' | 'redis';

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function unavailableBackend(e: unknown): Backend | undefined {
  const err = (e ?? {}) as { code?: unknown; syscall?: unknown; name?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  // ioredis: the offline queue gave up, or the connection closed under a command.
  if (err.name === 'MaxRetriesPerRequestError' || /^Connection is closed\.?$|Stream isn't writeable/.test(message)) return 'redis';
  // PostgreSQL's own codes: admin/crash shutdown, cannot connect now (starting or stopping), connection exceptions.
  if (/^57P0[123]$/.test(code) || /^08[0-9A-Z]{3}$/.test(code)) return 'database';
  // node-postgres: a socket that never opened or broke, or the pool's connect timeout.
  if (NET_CODES.has(code) || (code === 'ENOENT' && err.syscall === 'connect')) return 'database';
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message)) return 'database';
  return undefined;
}

export const UNAVAILABLE_MESSAGES: Record<Backend, string> = {
  database: 'The platform database is unavailable; try again shortly.',
  redis: 'The platform queue (Redis) is unavailable; try again shortly.',
};
