/**
 * Uploaded source tarballs (Heroku's sources → builds flow), kept under DATA/sources/APP_ID until built. POST
 * /sources makes a slot (an empty ID.slot file), and only a slot takes an upload: an app has at most perApp slots
 * and uploads waiting, each up to maxBytes and all of them together twice that; what waits longer than an hour
 * is removed when the next slot is made.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AppError, invalidParams, notFound, quotaExceeded } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from '../apps/service.js';

const KEEP_MS = 3_600_000;
const ENTRY = /^([0-9a-f-]{36})\.(slot|tar\.gz)$/;

export function createSourceStore(dir: string, limits: { maxBytes: number; perApp: number }) {
  const appDir = (app: App) => join(dir, app.id);
  const path = (app: App, id: string) => join(appDir(app), `${id}.tar.gz`);
  const slot = (app: App, id: string) => join(appDir(app), `${id}.slot`);
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

  /** The app's slots and uploads (the old ones removed), with the bytes its uploads hold. */
  async function waiting(app: App): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    for (const name of await readdir(appDir(app)).catch(() => [] as string[])) {
      if (!ENTRY.test(name)) continue;
      const s = await stat(join(appDir(app), name)).catch(() => undefined);
      if (!s) continue;
      if (Date.now() - s.mtimeMs > KEEP_MS) {
        await rm(join(appDir(app), name), { force: true });
        continue;
      }
      count++;
      bytes += s.size;
    }
    return { count, bytes };
  }

  return {
    path,
    /** A new upload slot, or a 422 when the app has its share waiting. */
    async create(app: App): Promise<string> {
      await mkdir(appDir(app), { recursive: true, mode: 0o700 });
      const { count } = await waiting(app);
      if (count >= limits.perApp) throw quotaExceeded(`${app.name} has ${count} source uploads waiting to be built, the most this platform keeps (SLIPWAY_MAX_SOURCES); build them or wait an hour.`);
      const id = randomUUID();
      await writeFile(slot(app, id), '', { mode: 0o600 });
      return id;
    },

    async put(app: App, id: string, body: Readable): Promise<number> {
      if (!isUuid(id)) throw notFound("Couldn't find that source.");
      const open = await stat(slot(app, id)).then(() => true, () => stat(path(app, id)).then(() => true, () => false));
      if (!open) throw notFound(`Couldn't find that source: make an upload slot first (POST /apps/${app.name}/sources).`);
      const room = Math.min(limits.maxBytes, 2 * limits.maxBytes - (await waiting(app)).bytes);
      const tmp = path(app, id) + '.part';
      let size = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          size += chunk.length;
          if (size > room) {
            const why = room < limits.maxBytes ? `the sources waiting for ${app.name} would hold more than ${mb(2 * limits.maxBytes)}` : `it is larger than ${mb(limits.maxBytes)}`;
            return cb(new AppError('request_too_large', `Source refused: ${why}.`, 413));
          }
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, cap, createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, path(app, id));
        await rm(slot(app, id), { force: true });
        return size;
      } finally {
        await rm(tmp, { force: true });
      }
    },
    /** The uploaded file behind a get_url of this app, or a 422 naming the problem. */
    async resolve(app: App, url: unknown, publicUrl: string): Promise<string> {
      if (typeof url !== 'string') throw invalidParams('source_blob.url is required.');
      const prefix = `/apps/${app.name}/sources/`;
      let pathname = url;
      if (/^https?:\/\//.test(url)) {
        if (!url.startsWith(publicUrl + '/')) throw invalidParams(`source_blob.url must be a source uploaded to this platform (POST /apps/${app.name}/sources).`);
        pathname = url.slice(publicUrl.length);
      }
      const id = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
      if (!isUuid(id)) throw invalidParams(`source_blob.url must be a source uploaded to this platform (POST /apps/${app.name}/sources).`);
      const file = path(app, id);
      if (!(await stat(file).then((s) => s.isFile(), () => false))) throw invalidParams('That source has not been uploaded yet (PUT the tarball to its put_url).');
      return file;
    },
  };
}

export type SourceStore = ReturnType<typeof createSourceStore>;
