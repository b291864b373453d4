/**
 * The read side of the OCI Distribution API at /v2/, so podman, skopeo, docker and Kubernetes pull releases:
 * `/v2/APP/manifests/{vN|latest|sha256:…}`, `/v2/APP/blobs/sha256:…`, `/v2/APP/tags/list`. Basic auth with any
 * user name and an API token as the password, and the API's own per-app access: an app the token's user may not
 * see is NAME_UNKNOWN, as one that does not exist. Errors are the Distribution API's `{"errors": [...]}`.
 */
import { Router, type Request, type Response } from 'express';
import { readCredentials, tokenOf } from '../api/auth.js';
import type { App, AppService } from '../apps/service.js';
import type { ImageService } from './service.js';
import type { User, UserService } from '../accounts/users.js';
import { isAppError } from '../errors.js';

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ code, message, detail: null }] });
}

export function registryRoutes(deps: { users: UserService; apps: AppService; images: ImageService }): Router {
  const r = Router();

  /** The token's user; else 401 with the challenge registry clients answer with Basic credentials. */
  async function userOf(req: Request, res: Response): Promise<User | undefined> {
    const token = tokenOf(readCredentials(req.get('authorization')));
    const user = token ? await deps.users.forToken(token) : undefined;
    if (!user) {
      res.set('WWW-Authenticate', 'Basic realm="slipway"');
      fail(res, 401, 'UNAUTHORIZED', 'Log in with any user name and an API token as the password.');
    }
    return user;
  }

  /** The app of the request's repository name, if the token's user may see it; else the error is sent. */
  async function appOf(req: Request, res: Response): Promise<App | undefined> {
    const user = await userOf(req, res);
    if (!user) return undefined;
    try {
      return await deps.apps.get(user, String(req.params.app));
    } catch {
      fail(res, 404, 'NAME_UNKNOWN', 'No such repository (an app you have access to).');
      return undefined;
    }
  }

  r.use('/v2', (_req, res, next) => {
    res.set('Docker-Distribution-API-Version', 'registry/2.0');
    next();
  });

  r.get('/v2/', async (req, res) => {
    if (await userOf(req, res)) res.json({});
  });

  r.get('/v2/:app/manifests/:ref', async (req, res) => {
    const app = await appOf(req, res);
    if (!app) return;
    try {
      const m = await deps.images.manifest(app, String(req.params.ref));
      res.set({ 'Content-Type': deps.images.manifestMediaType, 'Docker-Content-Digest': m.digest });
      res.sendFile(m.path, { headers: { 'Content-Type': deps.images.manifestMediaType }, acceptRanges: false, cacheControl: false, lastModified: false, dotfiles: 'allow' });
    } catch (e) {
      if (!isAppError(e) || e.status !== 404) throw e;
      fail(res, 404, 'MANIFEST_UNKNOWN', e.message);
    }
  });

  r.get('/v2/:app/blobs/:digest', async (req, res) => {
    const app = await appOf(req, res);
    if (!app) return;
    const blob = await deps.images.blob(app, String(req.params.digest));
    if (!blob) return fail(res, 404, 'BLOB_UNKNOWN', 'No image of this app has that blob.');
    res.set('Docker-Content-Digest', blob.digest);
    res.sendFile(blob.path, { headers: { 'Content-Type': 'application/octet-stream' }, cacheControl: false, lastModified: false, dotfiles: 'allow' });
  });

  r.get('/v2/:app/tags/list', async (req, res) => {
    const app = await appOf(req, res);
    if (app) res.json({ name: app.name, tags: await deps.images.tags(app) });
  });

  return r;
}
