import { Router, type Request, type Response } from 'express';
import { badRequest, invalidParams, isAppError, notFound } from '../errors.js';
import type { LoginGuard } from './login-guard.js';
import type { User, UserService } from './users.js';
import { currentUser, readCredentials, requireToken } from '../api/auth.js';
import { serializeAccount, serializeAuthorization } from '../api/serializers.js';

export interface TokenPolicy {
  /** Lifetime of a token made by logging in with a password, in seconds. */
  loginTtlS: number;
  /** The longest lifetime a caller may ask for (expires_in). */
  maxTtlS: number;
}

function expiresIn(body: unknown, policy: TokenPolicy): number | undefined {
  const v = (body as { expires_in?: unknown } | undefined)?.expires_in;
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 60 || n > policy.maxTtlS) throw invalidParams(`expires_in must be a whole number of seconds from 60 to ${policy.maxTtlS}.`);
  return n;
}

/**
 * Login: Heroku's `POST /oauth/authorizations` with basic email:password, mounted before the token check. Failed
 * logins are slowed per account and per address (LoginGuard); a token made by logging in expires, and so does one a
 * user (not an administrator) makes with a token.
 */
export function loginRoutes(users: UserService, guard: LoginGuard, policy: TokenPolicy): Router {
  const r = Router();

  // Login: basic email:password makes a new token. With a bearer token instead, a further token for the same user.
  r.post('/oauth/authorizations', async (req, res) => {
    const creds = readCredentials(req.get('authorization'));
    const asked = expiresIn(req.body, policy);
    let user: User;
    let ttl = asked;
    if (creds.basic && creds.basic.user !== '') {
      const address = req.socket.remoteAddress ?? '';
      await guard.check(creds.basic.user, address);
      try {
        user = await users.authenticate(creds.basic.user, creds.basic.password);
      } catch (e) {
        if (isAppError(e) && e.status === 401) await guard.failed(creds.basic.user, address);
        throw e;
      }
      await guard.succeeded(creds.basic.user);
      ttl = Math.min(asked ?? policy.loginTtlS, policy.loginTtlS);
    } else {
      await new Promise<void>((resolve, reject) => requireToken(users)(req, res, (e?: unknown) => (e ? reject(e) : resolve())));
      user = currentUser(res);
      // A token made with a token expires as a login's does: a leaked token cannot mint one that outlives it. An
      // administrator may make one that never expires (a CI's).
      if (!user.is_admin) ttl = Math.min(asked ?? policy.loginTtlS, policy.loginTtlS);
    }
    const description = typeof req.body?.description === 'string' ? req.body.description : 'slipway login';
    res.status(201).json(serializeAuthorization(await users.createToken(user, description, ttl)));
  });

  return r;
}

/** The caller's own token's id (its token list shows the token only for that one). */
async function presentedTokenId(users: UserService, res: Response): Promise<string | undefined> {
  const token = res.locals.token as string | undefined;
  return token ? users.tokenIdOf(token) : undefined;
}

/** The account, its tokens (Heroku's authorizations) and user administration. Expects requireToken in front. */
export function accountRoutes(users: UserService): Router {
  const r = Router();

  r.get('/account', (_req, res) => {
    res.json(serializeAccount(currentUser(res)));
  });

  r.get('/oauth/authorizations', async (_req, res) => {
    const me = currentUser(res);
    const current = await presentedTokenId(users, res);
    const rows = await users.listTokens(me);
    res.json(rows.map((t) => serializeAuthorization({ ...t, user: me, token: t.id === current ? (res.locals.token as string) : null })));
  });

  r.get('/oauth/authorizations/:id', async (req: Request, res: Response) => {
    const me = currentUser(res);
    const id = String(req.params.id);
    // `~` is Heroku's default API key, which Slipway does not have (every token is an authorization).
    const t = id === '~' ? undefined : await users.tokenById(me, id);
    if (!t) return void res.status(404).json({ id: 'not_found', resource: 'authorization', message: "Couldn't find that authorization." });
    const current = await presentedTokenId(users, res);
    res.json(serializeAuthorization({ ...t, user: me, token: t.id === current ? (res.locals.token as string) : null }));
  });

  // Logout: revokes a token of the caller's (Heroku's DELETE /oauth/authorizations/{id}).
  r.delete('/oauth/authorizations/:id', async (req, res) => {
    const me = currentUser(res);
    const id = String(req.params.id);
    const t = await users.tokenById(me, id);
    if (!t || !(await users.revokeTokenById(me, id))) throw notFound("Couldn't find that authorization.");
    res.json(serializeAuthorization({ ...t, user: me, token: null }));
  });

  // Every token of the caller, this one included (authorizations:revoke --all).
  r.delete('/oauth/authorizations', async (_req, res) => {
    res.json({ revoked: await users.revokeAllTokens(currentUser(res)) });
  });

  // Heroku's SSO sessions: Slipway has none (the Heroku CLI's logout asks, and goes on at this 404).
  r.delete('/oauth/sessions/:id', (_req, res) => {
    res.status(404).json({ id: 'not_found', resource: 'session', message: "Couldn't find that session." });
  });

  r.post('/users', async (req, res) => {
    const me = currentUser(res);
    users.requireAdmin(me);
    if (!req.body || typeof req.body !== 'object') throw badRequest('Body must be a JSON object with email and password.');
    const user = await users.create({ email: req.body.email, password: req.body.password, name: req.body.name, isAdmin: req.body.admin === true });
    res.status(201).json(serializeAccount(user));
  });

  return r;
}

