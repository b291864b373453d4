import express, { type ErrorRequestHandler, type Express } from 'express';
import { AppError, isAppError } from '../errors.js';
import { UNAVAILABLE_MESSAGES, unavailableBackend } from '../unavailable.js';
import type { Logger } from '../log.js';
import type { AppService } from '../apps/service.js';
import type { CollaboratorService } from '../apps/collaborators.js';
import type { UserService } from '../accounts/users.js';
import { requireToken } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { accountRoutes, loginRoutes, type TokenPolicy } from '../accounts/routes.js';
import type { LoginGuard } from '../accounts/login-guard.js';
import { appRoutes, egressRoutes } from '../apps/routes.js';
import type { UrlInfo } from './serializers.js';

export interface HealthReport {
  ok: boolean;
  roles: Record<string, { state: 'up' | 'down'; pid?: number; host?: string; seen_at?: string }>;
  message?: string;
}

export interface ApiDeps {
  users: UserService;
  loginGuard: LoginGuard;
  tokenPolicy: TokenPolicy;
  apps: AppService;
  collaborators: CollaboratorService;
  urls: UrlInfo;
  health: () => Promise<HealthReport>;
  log: Logger;
  /** Extra routers mounted behind the token check (later stages add theirs here). */
  extraRoutes?: express.Router[];
  /** The built dashboard (dist/dashboard), served at `/` with no token: the page itself holds no data. */
  dashboardDir?: string;
  /** Routers that carry their own credential (log-session URLs), mounted before the token check. */
  publicRoutes?: express.Router[];
}

export const BODY_LIMIT = '1mb';

/** A request path as it may be logged: a path that is itself a credential (a log-session URL) is not written down. */
export const loggedPath = (path: string): string => path.replace(/^\/log-sessions\/[^/]+/, '/log-sessions/[token]').slice(0, 300);

/** The REST API (Heroku Platform API v3 shapes). Routes are thin: parse, call one service, map to HTTP. */
export function createApi(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.log.info('request', { method: req.method, path: loggedPath(req.path), status: res.statusCode, service: `${ms.toFixed(1)}ms` });
    });
    next();
  });

  app.get('/health', async (_req, res) => {
    const report = await deps.health().catch((e: Error): HealthReport => ({ ok: false, roles: {}, message: e.message }));
    res.status(report.ok ? 200 : 503).json(report);
  });

  if (deps.dashboardDir) app.use(dashboardRoutes(deps.dashboardDir));

  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'], strict: true }));

  app.use(loginRoutes(deps.users, deps.loginGuard, deps.tokenPolicy));
  for (const r of deps.publicRoutes ?? []) app.use(r);
  app.use(requireToken(deps.users));
  app.use(accountRoutes(deps.users));
  app.use(appRoutes(deps.apps, deps.collaborators, deps.urls));
  app.use(egressRoutes(deps.apps));
  for (const r of deps.extraRoutes ?? []) app.use(r);

  app.use((req, _res, next) => next(new AppError('not_found', `No such route: ${req.method} ${req.path.slice(0, 200)}`, 404)));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    let e: AppError;
    const bodyError = err as { type?: string; status?: number };
    if (isAppError(err)) e = err;
    else if (bodyError.type === 'entity.too.large') e = new AppError('request_too_large', `Request body is larger than ${BODY_LIMIT}.`, 413);
    else if (bodyError.type === 'entity.parse.failed') e = new AppError('bad_request', 'Request body is not valid JSON.', 400);
    else if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
      e = new AppError('bad_request', (err as Error).message || 'Bad request.', bodyError.status);
    } else if (['22021', '22P02', '22P05'].includes(String((err as { code?: unknown }).code))) {
      // PostgreSQL could not even represent a value (a NUL, a malformed id): input the edge should have refused.
      deps.log.warn('unrepresentable input reached the database', { method: req.method, path: loggedPath(req.path), code: (err as { code?: string }).code });
      e = new AppError('bad_request', 'A value in this request is malformed (it has characters or a form that cannot be stored).', 400);
    } else if (unavailableBackend(err)) {
      const backend = unavailableBackend(err)!;
      deps.log.warn('backend unavailable', { method: req.method, path: loggedPath(req.path), backend, error: (err as Error).message });
      e = new AppError('unavailable', UNAVAILABLE_MESSAGES[backend], 503);
      res.set('Retry-After', '2');
    } else {
      deps.log.error('internal error', { method: req.method, path: loggedPath(req.path), error: (err as Error)?.stack ?? String(err) });
      e = new AppError('internal_server_error', 'Internal server error.', 500);
    }
    if (res.headersSent) return void res.end();
    if (e.headers) res.set(e.headers);
    res.status(e.status).json({ id: e.id, message: e.message });
  };
  app.use(onError);
  return app;
}
