/** The only place in the CLI that speaks HTTP. Errors carry the API's message. */
import type { CliConfig } from './config.js';
import { readNetrc } from './netrc.js';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class CliError extends Error {}

export interface ApiClient {
  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<T>;
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  patch<T = unknown>(path: string, body?: unknown): Promise<T>;
  put<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string): Promise<T>;
  /** A plain-text body (a build log). */
  getText(path: string): Promise<string>;
  /** A binary body (a backup) written to file; its size. */
  download(path: string, file: string): Promise<number>;
  apiUrl: string;
}

export async function resolveToken(cfg: CliConfig): Promise<string | undefined> {
  if (cfg.envToken) return cfg.envToken;
  return (await readNetrc(cfg.netrcPath, new URL(cfg.apiUrl).hostname))?.password;
}

export function createApiClient(cfg: CliConfig, token: string | undefined): ApiClient {
  async function request<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}, raw = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/vnd.heroku+json; version=3', ...extra };
    if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(cfg.apiUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new CliError(`Cannot reach the Slipway API at ${cfg.apiUrl} (${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}). Is \`slipway up\` running? Set SLIPWAY_API_URL to point elsewhere.`);
    }
    const text = await res.text();
    if (raw && res.ok) return text as T;
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (!res.ok) {
      const message = (data as { message?: string } | undefined)?.message ?? `HTTP ${res.status}`;
      if (res.status === 401 && !token) throw new CliError(`${message}\nLog in first: slipway login`);
      throw new CliError(message);
    }
    return data as T;
  }
  return {
    apiUrl: cfg.apiUrl,
    get: (p, h) => request('GET', p, undefined, h),
    post: (p, b, h) => request('POST', p, b ?? {}, h),
    patch: (p, b) => request('PATCH', p, b ?? {}),
    put: (p, b) => request('PUT', p, b ?? {}),
    delete: (p) => request('DELETE', p),
    getText: (p) => request<string>('GET', p, undefined, {}, true),
    async download(p, file) {
      const res = await fetch(cfg.apiUrl + p, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      if (!res.ok || !res.body) {
        const text = await res.text();
        // The API's {message}, or the registry endpoint's {errors: [{message}]}.
        throw new CliError((() => { try { const b = JSON.parse(text) as { message?: string; errors?: { message: string }[] }; return b.message ?? b.errors?.[0]?.message ?? `HTTP ${res.status}`; } catch { return `HTTP ${res.status}`; } })());
      }
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
      return (await stat(file)).size;
    },
  };
}
