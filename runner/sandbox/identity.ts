/**
 * Each app runs as a uid of its own (apps.uid, from 100000 up): its dynos, one-offs, release phase and builds, and
 * the files they own on the host (the unpacked slug, the build and cache dirs, the scratch disk). Apps then share no
 * per-uid kernel limit (nproc, inotify instances, keyrings) and no file. Inside, the user is still called `dyno`:
 * the container gets /etc/passwd and /etc/group of its stack with the dyno entries at its uid, bound read-only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BindMount } from './oci-spec.js';
import { DYNO_GID, DYNO_UID } from './stack.js';

/** Who a container runs as: the app's uid, and a group of the same number. */
export interface Identity {
  uid: number;
  gid: number;
}

export const DEFAULT_IDENTITY: Identity = { uid: DYNO_UID, gid: DYNO_GID };

/** The identity of an app's containers (its uid from the database; checked, never root or a system uid). */
export function appIdentity(uid: number | undefined): Identity {
  if (uid === undefined) return DEFAULT_IDENTITY;
  if (!Number.isInteger(uid) || uid < DYNO_UID || uid > 2_000_000_000) throw new Error(`not an app uid: ${uid}`);
  return { uid, gid: uid };
}

const stackFiles = new Map<string, Promise<{ passwd: string; group: string }>>();

function readStack(rootfs: string) {
  let p = stackFiles.get(rootfs);
  if (!p) {
    p = Promise.all([readFile(join(rootfs, 'etc', 'passwd'), 'utf8'), readFile(join(rootfs, 'etc', 'group'), 'utf8')])
      .then(([passwd, group]) => ({ passwd, group }));
    p.catch(() => stackFiles.delete(rootfs));
    stackFiles.set(rootfs, p);
  }
  return p;
}

const withDyno = (text: string, line: string) => text.split('\n').filter((l) => l && !l.startsWith('dyno:')).concat(line, '').join('\n');

/** The binds giving a container in dir its identity's passwd and group entries (none needed for the stack's own). */
export async function identityBinds(rootfs: string, dir: string, id: Identity): Promise<BindMount[]> {
  if (id.uid === DYNO_UID && id.gid === DYNO_GID) return [];
  const stack = await readStack(rootfs);
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  await writeFile(passwd, withDyno(stack.passwd, `dyno:x:${id.uid}:${id.gid}:dyno:/app:/bin/bash`), { mode: 0o644 });
  await writeFile(group, withDyno(stack.group, `dyno:x:${id.gid}:`), { mode: 0o644 });
  return [
    { source: passwd, destination: '/etc/passwd', readonly: true },
    { source: group, destination: '/etc/group', readonly: true },
  ];
}
