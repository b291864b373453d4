import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Db } from '../db/pool.js';
import { pgCode } from '../db/pool.js';
import { conflict, forbidden, invalidParams, unauthorized } from '../errors.js';
import { parseEmail, type Email } from '../names.js';
import { hashPassword, hashToken, newToken, verifyPassword } from '../services/secrets.js';

export interface User {
  id: string;
  email: Email;
  name: string | null;
  is_admin: boolean;
  last_login: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface TokenInfo {
  id: string;
  token: string; // the only time the token exists outside its owner
  description: string;
  created_at: Date;
  expires_at: Date | null;
  user: User;
}

/** A token as its owner may see it later: never the token itself (only its hash is kept). */
export interface TokenRecord {
  id: string;
  description: string;
  created_at: Date;
  updated_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const TOKEN_COLUMNS = 't.id, t.description, t.created_at, t.updated_at, t.expires_at, t.last_used_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const USER_COLUMNS = 'u.id, u.email, u.name, u.is_admin, u.last_login, u.created_at, u.updated_at';
const MIN_PASSWORD = 8;

export interface UserPolicy {
  /** Builds run on the host with the data dir in reach (no build containers): one user only. */
  singleUser?: boolean;
}

export function createUserService(db: Db, policy: UserPolicy = {}) {
  async function byEmail(email: Email): Promise<(User & { password_hash: string | null }) | undefined> {
    const r = await db.query(`SELECT ${USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.email) = $1`, [email]);
    return r.rows[0];
  }

  return {
    async create(input: { email: unknown; password?: unknown; name?: unknown; isAdmin?: boolean }): Promise<User> {
      const email = parseEmail(input.email);
      if (policy.singleUser && Number((await db.query('SELECT count(*) AS n FROM users')).rows[0].n) > 0) {
        throw invalidParams('This platform builds on the host, not in build containers (it does not run as root, or SLIPWAY_BUILD_ISOLATION=host): every build can read its data dir, so it takes one user only. Run slipway up as root for more users.');
      }
      let hash: string | null = null;
      if (input.password !== undefined && input.password !== null) {
        if (typeof input.password !== 'string' || input.password.length < MIN_PASSWORD || input.password.length > 1024) {
          throw invalidParams(`Password must be ${MIN_PASSWORD} to 1024 characters.`);
        }
        hash = await hashPassword(input.password);
      }
      const name = typeof input.name === 'string' && input.name.length <= 200 ? input.name : null;
      try {
        const r = await db.query(
          `INSERT INTO users AS u (email, name, password_hash, is_admin) VALUES ($1, $2, $3, $4) RETURNING ${USER_COLUMNS}`,
          [email, name, hash, input.isAdmin ?? false],
        );
        return r.rows[0];
      } catch (e) {
        if (pgCode(e) === '23505') throw conflict(`A user with email ${email} already exists.`);
        throw e;
      }
    },

    async get(id: string): Promise<User | undefined> {
      return (await db.query(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id])).rows[0];
    },

    async findByEmail(email: unknown): Promise<User | undefined> {
      const user = await byEmail(parseEmail(email));
      if (!user) return undefined;
      const { password_hash: _h, ...rest } = user;
      return rest;
    },

    /**
     * Email and password → user; one message for every failure, and the same work (one scrypt) whether the account
     * exists or not, so neither the answer nor its time tells which emails have accounts.
     */
    async authenticate(email: string, password: string): Promise<User> {
      let parsed: Email | undefined;
      try {
        parsed = parseEmail(email);
      } catch {
        parsed = undefined;
      }
      const user = parsed ? await byEmail(parsed) : undefined;
      const ok = await verifyPassword(password.slice(0, 1024), user?.password_hash);
      if (!user || !ok) throw unauthorized('Invalid credentials provided.');
      await db.query('UPDATE users SET last_login = now() WHERE id = $1', [user.id]);
      const { password_hash: _h, ...rest } = user;
      return rest;
    },

    /** A new token; with expiresInS it stops working that many seconds from now. */
    async createToken(user: User, description = '', expiresInS?: number): Promise<TokenInfo> {
      const token = newToken();
      const r = await db.query(
        `INSERT INTO api_tokens (user_id, token_hash, description, expires_at)
         VALUES ($1, $2, $3, CASE WHEN $4::int IS NULL THEN NULL ELSE now() + make_interval(secs => $4::int) END)
         RETURNING id, description, created_at, expires_at`,
        [user.id, hashToken(token), description.slice(0, 200), expiresInS ?? null],
      );
      return { ...r.rows[0], token, user };
    },

    /** The user's tokens that still work, newest first; never the tokens themselves. */
    async listTokens(user: User): Promise<TokenRecord[]> {
      const r = await db.query(
        `SELECT ${TOKEN_COLUMNS} FROM api_tokens t WHERE t.user_id = $1 AND (t.expires_at IS NULL OR t.expires_at > now()) ORDER BY t.created_at DESC`,
        [user.id],
      );
      return r.rows;
    },

    async tokenById(user: User, id: string): Promise<TokenRecord | undefined> {
      if (!UUID.test(id)) return undefined;
      const r = await db.query(`SELECT ${TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1 AND t.user_id = $2 AND (t.expires_at IS NULL OR t.expires_at > now())`, [id, user.id]);
      return r.rows[0];
    },

    /** The id of the token a request presented (so its owner can tell it from the others). */
    async tokenIdOf(token: string): Promise<string | undefined> {
      return (await db.query<{ id: string }>('SELECT id FROM api_tokens WHERE token_hash = $1', [hashToken(token)])).rows[0]?.id;
    },

    /** Revokes every token of the user (authorizations:revoke --all); returns how many. */
    async revokeAllTokens(user: User): Promise<number> {
      return (await db.query('DELETE FROM api_tokens WHERE user_id = $1', [user.id])).rowCount ?? 0;
    },

    /** The user a bearer token belongs to, or undefined. Records use at most once a minute. */
    async forToken(token: string): Promise<User | undefined> {
      if (!token || token.length > 200) return undefined;
      const r = await db.query(
        `SELECT ${USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > now())`,
        [hashToken(token)],
      );
      const row = r.rows[0];
      if (!row) return undefined;
      if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
        await db.query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [row.token_id]);
      }
      const { token_id: _t, last_used_at: _l, ...user } = row;
      return user;
    },

    /** Revokes one of the user's own tokens by its id (logout); false when the user has no such token. */
    async revokeTokenById(user: User, id: string): Promise<boolean> {
      if (!UUID.test(id)) return false;
      return ((await db.query('DELETE FROM api_tokens WHERE id = $1 AND user_id = $2', [id, user.id])).rowCount ?? 0) > 0;
    },

    async revokeToken(token: string): Promise<void> {
      await db.query('DELETE FROM api_tokens WHERE token_hash = $1', [hashToken(token)]);
    },

    requireAdmin(user: User): void {
      if (!user.is_admin) throw forbidden('Only an administrator can do that.');
    },

    /**
     * The admin account, made on first start. Returns the token only when it was just made
     * (it is written to tokenFile, mode 0600, for automation); later starts reuse the account.
     */
    async ensureAdmin(email: string, password: string | undefined, tokenFile: string): Promise<{ user: User; token?: string }> {
      const existing = (await db.query(`SELECT ${USER_COLUMNS} FROM users u WHERE u.is_admin ORDER BY u.created_at LIMIT 1`)).rows[0];
      if (existing) return { user: existing };
      const user = await this.create({ email, password, isAdmin: true });
      const { token } = await this.createToken(user, 'admin token made on first start');
      await mkdir(dirname(tokenFile), { recursive: true });
      await writeFile(tokenFile, token + '\n', { mode: 0o600 });
      return { user, token };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
