/**
 * Password guessing, bounded: failed logins are counted per account (email) and per client address in Redis, so
 * every api process sees the same counts. After FREE failures an account waits before its next try, twice as long
 * each time (1 s, 2 s, 4 s … up to 15 min); an address that failed PER_ADDRESS times in the window waits the window
 * out. A successful login clears its account's count. Emails are kept hashed, never in clear.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { rateLimited } from '../errors.js';

export interface LoginGuardOptions {
  /** Failures of one account before it has to wait. */
  free?: number;
  /** Failures from one address within the window before it has to wait. */
  perAddress?: number;
  windowS?: number;
  maxWaitS?: number;
}

export function createLoginGuard(redis: Redis, prefix: string, o: LoginGuardOptions = {}) {
  const free = o.free ?? 5;
  const perAddress = o.perAddress ?? 30;
  const windowS = o.windowS ?? 900;
  const maxWaitS = o.maxWaitS ?? 900;
  const emailKey = (email: string) => `${prefix}:login:email:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)}`;
  const addressKey = (address: string) => `${prefix}:login:addr:${address.replace(/^::ffff:/, '')}`;

  return {
    /** Refuses (429, Retry-After) while the account or the address has to wait; call before checking the password. */
    async check(email: string, address: string): Promise<void> {
      const [until, byAddress, addressTtl] = await Promise.all([
        redis.hget(emailKey(email), 'until'),
        redis.get(addressKey(address)),
        redis.ttl(addressKey(address)),
      ]);
      const wait = Number(until ?? 0) - Date.now();
      if (wait > 0) throw rateLimited(`Too many failed logins for this account: try again in ${Math.ceil(wait / 1000)} s.`, wait / 1000);
      if (Number(byAddress ?? 0) >= perAddress) throw rateLimited(`Too many failed logins from this address: try again in ${Math.max(1, addressTtl)} s.`, Math.max(1, addressTtl));
    },

    async failed(email: string, address: string): Promise<void> {
      const ek = emailKey(email);
      const ak = addressKey(address);
      const [[, n]] = (await redis.multi().hincrby(ek, 'failures', 1).expire(ek, windowS + maxWaitS).incr(ak).expire(ak, windowS, 'NX').exec()) as [unknown, number][];
      if (n > free) {
        const waitS = Math.min(maxWaitS, 2 ** (n - free - 1));
        await redis.hset(ek, 'until', String(Date.now() + waitS * 1000));
      }
    },

    async succeeded(email: string): Promise<void> {
      await redis.del(emailKey(email));
    },
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;
