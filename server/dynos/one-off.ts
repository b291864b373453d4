/**
 * One-off dynos between the API and the agent. The API stores what the agent needs beyond the dyno row (extra env)
 * and, for attached runs, a rendezvous secret; the agent's rendezvous port (server/roles/rendezvous.ts) takes a
 * connection, reads the secret line and joins the socket to the dyno's stdin and output, in the Heroku CLI's
 * protocol: a greeting line first, the exit marker last.
 */
import type { Redis } from 'ioredis';

/** The last line of an attached session, with the dyno's exit status after it (what the Heroku CLI reads). */
export const EXIT_MARKER = '\uFFFF heroku-command-exit-status: ';
/** The first line of an attached session, which the client drops. */
export const RENDEZVOUS_GREETING = 'rendezvous\r\n';
const oneOffKey = (prefix: string, dynoId: string) => `${prefix}:oneoff:${dynoId}`;
const rendezvousKey = (prefix: string, secret: string) => `${prefix}:rendezvous:${secret}`;

export const SECRET = /^[A-Za-z0-9_-]{32}$/;

export interface OneOffData {
  env: Record<string, string>;
  /** Attached with a terminal (Heroku's default unless force_no_tty). */
  tty: boolean;
}

export async function saveOneOff(redis: Redis, prefix: string, dynoId: string, data: { env?: Record<string, string>; tty?: boolean; secret?: string }): Promise<void> {
  await redis.set(oneOffKey(prefix, dynoId), JSON.stringify({ env: data.env ?? {}, tty: !!data.tty }), 'EX', 3600);
  if (data.secret) await redis.set(rendezvousKey(prefix, data.secret), dynoId, 'EX', 300);
}

export async function loadOneOff(redis: Redis, prefix: string, dynoId: string): Promise<OneOffData> {
  const raw = await redis.get(oneOffKey(prefix, dynoId));
  const data = raw ? (JSON.parse(raw) as Partial<OneOffData>) : {};
  return { env: data.env ?? {}, tty: data.tty === true };
}

/** The dyno a secret opens, once: a second connection with the same secret gets nothing. */
export async function claimRendezvous(redis: Redis, prefix: string, secret: string): Promise<string | null> {
  if (!SECRET.test(secret)) return null;
  return (await redis.call('GETDEL', rendezvousKey(prefix, secret))) as string | null;
}

/** The one-off records of this platform's Redis, bound once (what the API and the agent pass around). */
export function createOneOffStore(redis: Redis, prefix: string) {
  return {
    save: (dynoId: string, data: { env?: Record<string, string>; tty?: boolean; secret?: string }) => saveOneOff(redis, prefix, dynoId, data),
    load: (dynoId: string) => loadOneOff(redis, prefix, dynoId),
    claim: (secret: string) => claimRendezvous(redis, prefix, secret),
  };
}

export type OneOffStore = ReturnType<typeof createOneOffStore>;
