/**
 * The dashboard's REST API client: the only module that knows URLs, headers and the token. Every call goes to the
 * same public API the CLI uses (Heroku Platform API v3 shapes); errors carry the API's own id and message.
 */

import type { App, DynoState, Dyno, Formation, DynoSize, Release, Build, Domain, SniEndpoint, Feature, Account, Authorization, ConfigVars, Session } from './api-types';

export type { App, DynoState, Dyno, Formation, DynoSize, Release, Build, Domain, SniEndpoint, Feature, Account, Authorization, ConfigVars, Session };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

// The token lives in sessionStorage: gone when the tab closes, never in a URL, never in a cookie a form could send.
const SESSION_KEY = 'slipway.session';

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

let session: Session | null = loadSession();
const expiredListeners = new Set<(message: string) => void>();

/** Called when the API refuses the token (revoked, or the user removed): the app goes back to the login page. */
export function onSessionExpired(fn: (message: string) => void): () => void {
  expiredListeners.add(fn);
  return () => expiredListeners.delete(fn);
}

const enc = encodeURIComponent;

export async function request<T>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; token?: string; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/vnd.heroku+json; version=3', ...opts.headers };
  const token = opts.token ?? session?.token;
  if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The Slipway API cannot be reached. Is `slipway up` running?');
  }
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = (data ?? {}) as { id?: string; message?: string };
    const message = err.message ?? (text.trim().slice(0, 300) || `${res.status} ${res.statusText}`);
    if (res.status === 401 && session && token === session.token && !opts.headers?.authorization) {
      saveSession((session = null));
      for (const fn of expiredListeners) fn(message);
    }
    throw new ApiError(res.status, err.id ?? 'error', message);
  }
  return data as T;
}

/** Streams a plain-text response line by line until it ends or the signal aborts. */
async function streamLines(path: string, onLine: (line: string) => void, signal: AbortSignal, headers: Record<string, string> = {}, onOpen?: () => void): Promise<void> {
  const res = await fetch(path, { headers, signal, cache: 'no-store' }).catch((e: Error) => {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The Slipway API cannot be reached. Is `slipway up` running?');
  });
  if (!res.ok || !res.body) {
    const data = (await res.json().catch(() => ({}))) as { id?: string; message?: string };
    throw new ApiError(res.status, data.id ?? 'error', data.message ?? `${res.status} ${res.statusText}`);
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += value;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    }
    if (rest) onLine(rest);
  } finally {
    reader.releaseLock();
  }
}

const auth = () => (session ? { authorization: `Bearer ${session.token}` } : ({} as Record<string, string>));

export const api = {
  session: () => session,

  /** Email and password: the API makes a token for this browser tab (revoked again at logout). */
  async login(email: string, password: string): Promise<Session> {
    const basic = btoa(String.fromCharCode(...new TextEncoder().encode(`${email}:${password}`)));
    const made = await request<{ id: string; access_token: { token: string }; user: { email: string } }>('POST', '/oauth/authorizations', {
      headers: { authorization: `Basic ${basic}` },
      body: { description: `Slipway dashboard (${navigator.userAgent.slice(0, 80)})` },
    });
    saveSession((session = { token: made.access_token.token, email: made.user.email, authorizationId: made.id }));
    return session;
  },

  /** A pasted API token (from `slipway auth:token` or the admin token file), checked before it is kept. */
  async useToken(token: string): Promise<Session> {
    const account = await request<Account>('GET', '/account', { headers: { authorization: `Bearer ${token}` } });
    saveSession((session = { token, email: account.email }));
    return session;
  },

  async logout(): Promise<void> {
    const s = session;
    saveSession((session = null));
    if (s?.authorizationId) await request('DELETE', `/oauth/authorizations/${enc(s.authorizationId)}`, { token: s.token }).catch(() => undefined);
  },

  account: () => request<Account>('GET', '/account'),
  authorizations: () => request<Authorization[]>('GET', '/oauth/authorizations'),
  revokeAuthorization: (id: string) => request<unknown>('DELETE', `/oauth/authorizations/${enc(id)}`),

  apps: () => request<App[]>('GET', '/apps'),
  app: (app: string) => request<App>('GET', `/apps/${enc(app)}`),
  createApp: (name?: string) => request<App>('POST', '/apps', { body: name ? { name } : {} }),
  updateApp: (app: string, patch: { maintenance?: boolean; name?: string }) => request<App>('PATCH', `/apps/${enc(app)}`, { body: patch }),
  destroyApp: (app: string) => request<App>('DELETE', `/apps/${enc(app)}`),

  dynos: (app: string) => request<Dyno[]>('GET', `/apps/${enc(app)}/dynos`),
  restartDyno: (app: string, dyno: string) => request<unknown>('DELETE', `/apps/${enc(app)}/dynos/${enc(dyno)}`),
  restartAll: (app: string) => request<unknown>('DELETE', `/apps/${enc(app)}/dynos`),
  dynoSizes: () => request<DynoSize[]>('GET', '/dyno-sizes'),
  formation: (app: string) => request<Formation[]>('GET', `/apps/${enc(app)}/formation`),
  scale: (app: string, updates: { type: string; quantity: number; size: string }[]) =>
    request<Formation[]>('PATCH', `/apps/${enc(app)}/formation`, { body: { updates } }),

  configVars: (app: string) => request<ConfigVars>('GET', `/apps/${enc(app)}/config-vars`),
  /** A null value unsets the key. */
  setConfigVars: (app: string, patch: Record<string, string | null>) => request<ConfigVars>('PATCH', `/apps/${enc(app)}/config-vars`, { body: patch }),

  /** Newest first. */
  releases: (app: string, max = 50) => request<Release[]>('GET', `/apps/${enc(app)}/releases`, { headers: { range: `version ..; order=desc, max=${max}` } }),
  rollback: (app: string, releaseId: string) => request<Release>('POST', `/apps/${enc(app)}/releases`, { body: { release: releaseId } }),

  /** Newest first. */
  builds: (app: string, max = 50) => request<Build[]>('GET', `/apps/${enc(app)}/builds`, { headers: { range: `created_at ..; order=desc, max=${max}` } }),
  /** A build's output: what there is, then live until the build ends. */
  buildOutput: (app: string, id: string, onLine: (line: string) => void, signal: AbortSignal) =>
    streamLines(`/apps/${enc(app)}/builds/${enc(id)}/output`, onLine, signal, auth()),

  /** Tails the app's log: the last `lines`, then live, until the signal aborts; onOpen once the stream is connected. */
  async tailLogs(app: string, filter: { source?: string; dyno?: string; lines?: number }, onLine: (line: string) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
    const made = await request<{ logplex_url: string }>('POST', `/apps/${enc(app)}/log-sessions`, {
      body: { tail: true, lines: filter.lines ?? 100, source: filter.source || undefined, dyno: filter.dyno || undefined },
      signal,
    });
    // The session URL names the API's public address; the page reads it from its own origin (same API, same path).
    const url = new URL(made.logplex_url, location.href);
    await streamLines(url.pathname, onLine, signal, {}, onOpen);
  },

  domains: (app: string) => request<Domain[]>('GET', `/apps/${enc(app)}/domains`),
  addDomain: (app: string, hostname: string) => request<Domain>('POST', `/apps/${enc(app)}/domains`, { body: { hostname } }),
  removeDomain: (app: string, hostname: string) => request<Domain>('DELETE', `/apps/${enc(app)}/domains/${enc(hostname)}`),

  certificates: (app: string) => request<SniEndpoint[]>('GET', `/apps/${enc(app)}/sni-endpoints`),
  addCertificate: (app: string, chain: string, key: string) =>
    request<SniEndpoint>('POST', `/apps/${enc(app)}/sni-endpoints`, { body: { certificate_chain: chain, private_key: key } }),
  removeCertificate: (app: string, name: string) => request<SniEndpoint>('DELETE', `/apps/${enc(app)}/sni-endpoints/${enc(name)}`),
  /** Automatic certificates (ACME) on or off. */
  setAcm: (app: string, on: boolean) => request<App>(on ? 'POST' : 'DELETE', `/apps/${enc(app)}/acm`, on ? { body: {} } : {}),
  features: (app: string) => request<Feature[]>('GET', `/apps/${enc(app)}/features`),
  setFeature: (app: string, name: string, enabled: boolean) => request<Feature>('PATCH', `/apps/${enc(app)}/features/${enc(name)}`, { body: { enabled } }),
};
