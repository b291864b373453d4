import { Router } from 'express';
import { badRequest, notFound } from '../../errors.js';
import type { UserService } from '../../services/users.js';
import { currentUser, readCredentials, requireToken } from '../auth.js';
import { serializeAccount, serializeAuthorization } from '../serializers.js';

/** Login: Heroku's `POST /oauth/authorizations` with basic email:password. Mounted before the token check. */
export function loginRoutes(users: UserService): Router {
  const r = Router();

  // Login: basic email:password makes a new token. With a bearer token instead, a further token for the same user.
  r.post('/oauth/authorizations', async (req, res) => {
    const creds = readCredentials(req.get('authorization'));
    let user;
    if (creds.basic && creds.basic.user !== '') {
      user = await users.authenticate(creds.basic.user, creds.basic.password);
    } else {
      await new Promise<void>((resolve, reject) => requireToken(users)(req, res, (e?: unknown) => (e ? reject(e) : resolve())));
      user = currentUser(res);
    }
    const description = typeof req.body?.description === 'string' ? req.body.description : 'slipway login';
    res.status(201).json(serializeAuthorization(await users.createToken(user, description)));
  });

  return r;
}

/** The account and user administration. Expects requireToken in front. */
export function accountRoutes(users: UserService): Router {
  const r = Router();

  r.get('/account', (_req, res) => {
    res.json(serializeAccount(currentUser(res)));
  });

  // Logout: revokes a token of the caller's (Heroku's DELETE /oauth/authorizations/{id}).
  r.delete('/oauth/authorizations/:id', async (req, res) => {
    const me = currentUser(res);
    if (!(await users.revokeTokenById(me, String(req.params.id)))) throw notFound("Couldn't find that authorization.");
    res.json({ id: String(req.params.id) });
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
