import type { NextFunction, Request, Response } from 'express';
import { unauthorized } from '../errors.js';
import type { User, UserService } from '../accounts/users.js';

export interface Credentials {
  bearer?: string;
  basic?: { user: string; password: string };
}

/** Reads `Authorization: Bearer T` or `Basic base64(user:password)`; never logs either. */
export function readCredentials(header: string | undefined): Credentials {
  if (!header) return {};
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!value) return {};
  if (/^bearer$/i.test(scheme)) return { bearer: value };
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return {};
    return { basic: { user: decoded.slice(0, i), password: decoded.slice(i + 1) } };
  }
  return {};
}

/** The token of a request: a bearer token, or (as Heroku and git do) the password of basic auth. */
export const tokenOf = (c: Credentials): string | undefined => c.bearer ?? c.basic?.password;

export function currentUser(res: Response): User {
  const user = res.locals.user as User | undefined;
  if (!user) throw unauthorized('Invalid credentials provided.');
  return user;
}

/** Every route behind this requires a valid API token. */
export function requireToken(users: UserService) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(readCredentials(req.get('authorization')));
    const user = token ? await users.forToken(token) : undefined;
    if (!user) {
      res.set('WWW-Authenticate', 'Bearer realm="slipway"');
      throw unauthorized(token ? 'Invalid credentials provided.' : 'No API token given: use Authorization: Bearer TOKEN (slipway login).');
    }
    res.locals.user = user;
    res.locals.token = token; // this request's own token: its owner's token list marks it
    next();
  };
}
