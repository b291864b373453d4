/**
 * Unpacking what a tenant packed (an uploaded source, a git tree, a slug): the stream goes through a TarGuard to
 * `tar -x` run as the unprivileged dyno user when the platform runs as root, so that neither a refused entry nor a
 * bug in tar can make the host create a device, a FIFO or a file outside the target dir.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, open } from 'node:fs/promises';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DYNO_GID, DYNO_UID } from '../sandbox/stack.js';
import { TarGuard, type TarGuardOptions } from './tar-guard.js';

export interface UnpackOptions extends TarGuardOptions {
  /** The input is gzipped. */
  gzip?: boolean;
  /** Keep the archive's modes (slugs); else the umask applies (sources, as tar does for a user). */
  keepModes?: boolean;
}

/**
 * pigz (Debian's, installed by setup) gzips on every core: a Node slug (a 100 MB node binary) packs in 0.7 s instead
 * of 1.8 s; it unpacks slugs too.
 */
export const PIGZ = ['/usr/bin/pigz', '/bin/pigz'].find((p) => existsSync(p));

/** pigz packing fast (-1), with no name or time (-n) and a fixed thread count, so a tree packs to the same bytes on any machine. */
export const PIGZ_PACK_ARGS = ['-1', '-n', '-p', '4', '-c'];

const asRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Who tar runs as: under root the app's uid (or the stack's dyno user), else this process's own user. */
export const unpackUser = (owner?: { uid: number; gid: number }): { uid: number; gid: number } | Record<string, never> =>
  asRoot() ? (owner ?? { uid: DYNO_UID, gid: DYNO_GID }) : {};

/** Reads a whole archive through the guard without unpacking it: what it holds at the top, or a TarRefused. */
export async function inspectTar(input: Readable, o: UnpackOptions): Promise<{ tops: Set<string>; nested: boolean }> {
  const guard = new TarGuard(o);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const gunzip = o.gzip ? createGunzip() : new PassThrough();
  await pipeline(input, gunzip, guard, sink);
  return { tops: guard.tops, nested: guard.nested };
}

/**
 * Unpacks what source() gives into dir (an empty dir the platform made); a refused entry stops tar before it sees
 * that entry. source is called once dir is ready and is read at once: a child's stdout left unread while its
 * child exits is drained by Node (flushStdio) and its bytes lost.
 */
export async function unpackTar(source: () => Readable, dir: string, o: UnpackOptions): Promise<void> {
  const user = unpackUser();
  if ('uid' in user) await chown(dir, user.uid, user.gid);
  const input = source();
  // tar starts in dir (chdir comes before the switch to the dyno user), so dir's parents need not be open to that user.
  const args = ['-x', '-f', '-', '--no-same-owner', o.keepModes ? '--same-permissions' : '--no-same-permissions', ...(o.strip ? [`--strip-components=${o.strip}`] : [])];
  const tar = spawn('tar', args, { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'], ...user, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  let err = '';
  tar.stderr.on('data', (d: Buffer) => (err.length < 4000 ? (err += d) : undefined));
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  try {
    await pipeline(input, o.gzip ? createGunzip() : new PassThrough(), new TarGuard(o), tar.stdin);
  } catch (e) {
    tar.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`tar could not unpack ${o.label.toLowerCase()}: ${err.trim().split('\n').slice(-2).join(' ') || 'exit ' + code}`);
}

/**
 * Unpacks a slug the platform packed (checked by a TarGuard then, so not again) into dir: tar reads the file from
 * an fd this process opened and gunzips with pigz, as the dyno user, so the tree is that user's as it is unpacked.
 */
export async function unpackSlugFile(file: string, dir: string, pigz: string | undefined, owner?: { uid: number; gid: number }): Promise<void> {
  const user = unpackUser(owner);
  if ('uid' in user) await chown(dir, user.uid, user.gid);
  const fh = await open(file, 'r');
  try {
    const args = ['-x', '-f', '-', '--no-same-owner', '--same-permissions', ...(pigz ? ['-I', pigz] : ['-z'])];
    const tar = spawn('tar', args, { cwd: dir, stdio: [fh.fd, 'ignore', 'pipe'], ...user, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
    let err = '';
    tar.stderr!.on('data', (d: Buffer) => (err.length < 4000 ? (err += d) : undefined));
    const code = await new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    if (code !== 0) throw new Error(`tar could not unpack the slug: ${err.trim().split('\n').slice(-2).join(' ') || 'exit ' + code}`);
  } finally {
    await fh.close();
  }
}
