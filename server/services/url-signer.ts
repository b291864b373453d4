/**
 * URLs a client may read without a token for a short while, as Heroku's signed output_stream_url: the path, an
 * expiry and an HMAC-SHA256 over both with a key made once per platform (platform_secrets, shared by every API
 * process and host). Checked in constant time; an expired or altered URL is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/pool.js';

export interface UrlSigner {
  /** `path?expires=…&signature=…`, valid for ttlS seconds. */
  sign(path: string, ttlS?: number): string;
  /** Whether the query signs this path and has not expired. */
  verify(path: string, query: { expires?: unknown; signature?: unknown }): boolean;
}

export async function loadUrlSigner(db: Db): Promise<UrlSigner> {
  await db.query(`INSERT INTO platform_secrets (name, value) VALUES ('url-signing', $1) ON CONFLICT (name) DO NOTHING`, [randomBytes(32).toString('hex')]);
  const key = Buffer.from((await db.query<{ value: string }>(`SELECT value FROM platform_secrets WHERE name = 'url-signing'`)).rows[0].value, 'hex');
  const mac = (path: string, expires: number) => createHmac('sha256', key).update(`${path}\n${expires}`).digest('hex');
  return {
    sign(path, ttlS = 3600) {
      const expires = Math.floor(Date.now() / 1000) + ttlS;
      return `${path}?expires=${expires}&signature=${mac(path, expires)}`;
    },
    verify(path, query) {
      const expires = Number(query.expires);
      if (!Number.isInteger(expires) || expires < Date.now() / 1000 || typeof query.signature !== 'string') return false;
      const want = Buffer.from(mac(path, expires), 'hex');
      const got = Buffer.from(/^[0-9a-f]{64}$/.test(query.signature) ? query.signature : '', 'hex');
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
}
