/** Uploaded source tarballs (Heroku's sources → builds flow), kept under DATA/sources until built. */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AppError, invalidParams, notFound } from '../errors.js';
import { isUuid } from '../names.js';
import type { App } from './apps.js';

export function createSourceStore(dir: string, maxBytes: number) {
  const path = (app: App, id: string) => join(dir, app.id, `${id}.tar.gz`);
  return {
    path,
    /** A new upload slot. */
    create(): string {
      return randomUUID();
    },
    async put(app: App, id: string, body: Readable): Promise<number> {
      if (!isUuid(id)) throw notFound("Couldn't find that source.");
      await mkdir(join(dir, app.id), { recursive: true, mode: 0o700 });
      const tmp = path(app, id) + '.part';
      let size = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          size += chunk.length;
          if (size > maxBytes) return cb(new AppError('request_too_large', `Source is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`, 413));
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, cap, createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, path(app, id));
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
