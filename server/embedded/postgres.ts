/**
 * The embedded PostgreSQL: a private cluster in DATA/postgres, listening only on a unix socket in
 * DATA/postgres/run (no TCP port, so it never collides with a server already on the machine).
 * As root it runs as the `postgres` user (PostgreSQL refuses root).
 *
 * The platform's own cluster asks every client for its password (scram-sha-256), socket included: a process that
 * reaches the socket (a service running as the `postgres` user, an add-on server of old) gets nothing without it.
 * The password is made at the first start and kept in DATA/postgres/password (0600, root's); a cluster made by an
 * earlier version with trust is given one at its next start.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../log.js';
import { describeProcess, ensureSystemUser, isAlive, stopChild, systemUser, waitForExit } from './processes.js';

const run = promisify(execFile);
export const EMBEDDED_DB = 'slipway';
export const EMBEDDED_USER = 'slipway';

export interface Embedded {
  url: string;
  pid: number;
  /** Resolves when the server process exits, for whatever reason (`slipway up` restarts it unless it is stopping). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export function embeddedPostgresUrl(socketDir: string, port?: number, password?: string): string {
  const who = password ? `${EMBEDDED_USER}:${password}` : EMBEDDED_USER;
  return `postgresql://${who}@localhost${port ? `:${port}` : ''}/${EMBEDDED_DB}?host=${encodeURIComponent(socketDir)}`;
}

/** Password authentication everywhere, the socket included. */
const SCRAM_HBA = 'local all all scram-sha-256\n';
const TRUST_HBA = 'local all all trust\n';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** A postmaster left running by a supervisor that was killed: stop it, but only if it serves our data dir. */
async function stopLeftover(dataDir: string, log: Logger): Promise<void> {
  const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const [pidLine, dirLine] = pidFile.split('\n');
  const pid = Number(pidLine);
  if (!pid || !isAlive(pid) || dirLine !== dataDir) return;
  const info = await describeProcess(pid);
  if (!info || !/postgres/.test(info.exe)) return;
  log.warn('stopping a PostgreSQL left running by an earlier start', { pid });
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 30_000))) process.kill(pid, 'SIGKILL');
}

/** A cluster dir made by another OS user (before the add-on server had a user of its own) is given to this one. */
async function handOver(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const s = await stat(dir).catch(() => undefined);
  if (!s || s.uid === owner.uid) return;
  await run('chown', ['-R', '--no-dereference', `${owner.uid}:${owner.gid}`, dir]);
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number, database = 'postgres'): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited with status ${child.exitCode} while starting`);
    const client = new pg.Client({ connectionString: url.replace(`/${EMBEDDED_DB}?`, `/${database}?`) });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (e) {
      last = e;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs / 1000}s: ${(last as Error)?.message}`);
}

export interface EmbeddedPostgresOptions {
  dir: string;
  binDir: string;
  asRoot: boolean;
  log: Logger;
  /** Also listen on TCP here (the add-on server, on the bridge's gateway); without it, the socket only. */
  listen?: { address: string; port: number };
  /** pg_hba.conf, written before every start (initdb's is kept without it). */
  hba?: string;
  /** The name log lines and errors give it. */
  label?: string;
  /** More server settings (-c NAME=VALUE). */
  settings?: Record<string, string>;
  /**
   * The OS user it runs as when started by root: `postgres` (the platform's cluster), or a user of its own (made when
   * missing) for a cluster that must not share one with the platform's (the add-on server's: a process it runs
   * could otherwise reach the platform's socket). A data dir owned by another user is handed over.
   */
  osUser?: string;
}

/** The cluster's own dir and socket dir, made and given to its OS user (the data dir handed over if another made it). */
async function prepareDirs(opts: EmbeddedPostgresOptions, socketDir: string): Promise<{ uid: number; gid: number } | undefined> {
  for (const bin of ['initdb', 'postgres']) {
    if (!(await exists(join(opts.binDir, bin)))) {
      throw new Error(`${join(opts.binDir, bin)} not found: install PostgreSQL (apt-get install postgresql, or npm run setup) or set DATABASE_URL`);
    }
  }
  const owner = !opts.asRoot ? undefined : opts.osUser ? await ensureSystemUser(opts.osUser) : await systemUser('postgres');
  if (opts.asRoot && !owner) throw new Error('the postgres system user does not exist: install the postgresql package (npm run setup)');
  if (owner) await handOver(opts.dir, owner);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  if (owner) {
    await chown(opts.dir, owner.uid, owner.gid);
    await chown(socketDir, owner.uid, owner.gid);
  }
  return owner;
}

async function writeHba(dataDir: string, hba: string, owner?: { uid: number; gid: number }): Promise<void> {
  const file = join(dataDir, 'pg_hba.conf');
  await writeFile(file, hba, { mode: 0o600 });
  if (owner) await chown(file, owner.uid, owner.gid);
}

/**
 * The password of a cluster that asks for one: read from DATA/postgres/password, or made now; a new one is only
 * known to the server once setPassword has run (until then the socket trusts, as initdb left it).
 */
async function clusterPassword(dir: string): Promise<{ file: string; password: string; isNew: boolean }> {
  const file = join(dir, 'password');
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f]{64}$/.test(kept)) return { file, password: kept, isNew: false };
  return { file, password: randomBytes(32).toString('hex'), isNew: true };
}

/** Gives the superuser its new password, keeps it, then closes the trusting door (a reload, no restart). */
async function setPassword(admin: pg.Client, pw: { file: string; password: string }, dataDir: string, owner?: { uid: number; gid: number }): Promise<void> {
  await admin.query(`ALTER ROLE ${EMBEDDED_USER} PASSWORD '${pw.password}'`); // hex made above: nothing to quote
  await writeFile(pw.file, pw.password + '\n', { mode: 0o600 });
  await writeHba(dataDir, SCRAM_HBA, owner);
  await admin.query('SELECT pg_reload_conf()');
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<Embedded> {
  const { dir, binDir, log } = opts;
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  const owner = await prepareDirs(opts, socketDir);
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

  if (!(await exists(join(dataDir, 'PG_VERSION')))) {
    log.info('initializing embedded PostgreSQL', { dir: dataDir });
    try {
      await run(join(binDir, 'initdb'), ['-D', dataDir, '-U', EMBEDDED_USER, '--auth=trust', '--encoding=UTF8', '--no-instructions'], { ...ids, env, cwd: dir });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`initdb failed: ${(err.stderr || err.message).trim()} (is ${dir} reachable by the postgres user? every parent directory needs o+x)`);
    }
  }
  await stopLeftover(dataDir, log);
  // A cluster given its own pg_hba (the add-on server) keeps it; the platform's own asks for a password.
  const pw = opts.hba ? undefined : await clusterPassword(dir);
  await writeHba(dataDir, opts.hba ?? (pw!.isNew ? TRUST_HBA : SCRAM_HBA), owner);

  const logFile = await open(join(dir, 'postgres.log'), 'a', 0o600);
  if (owner) await chown(join(dir, 'postgres.log'), owner.uid, owner.gid);
  const child = spawn(
    join(binDir, 'postgres'),
    ['-D', dataDir, '-k', socketDir, '-c', `listen_addresses=${opts.listen?.address ?? ''}`, ...(opts.listen ? ['-p', String(opts.listen.port)] : []),
      '-c', 'unix_socket_permissions=0700', '-c', 'max_connections=200', '-c', 'fsync=on', '-c', 'password_encryption=scram-sha-256',
      ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    { ...ids, env, cwd: dir, stdio: ['ignore', logFile.fd, logFile.fd] },
  );
  await logFile.close();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = embeddedPostgresUrl(socketDir, opts.listen?.port, pw?.password);
  try {
    await waitReady(url, child, 60_000);
    const admin = new pg.Client({ connectionString: url.replace(`/${EMBEDDED_DB}?`, '/postgres?') });
    await admin.connect();
    if (pw?.isNew) await setPassword(admin, pw, dataDir, owner);
    const has = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DB]);
    if (has.rowCount === 0) await admin.query(`CREATE DATABASE ${EMBEDDED_DB}`);
    await admin.end();
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message} (see ${join(dir, 'postgres.log')})`);
  }
  log.info(`${opts.label ?? 'embedded PostgreSQL'} ready`, { pid: child.pid, socket: socketDir, ...(opts.listen ? { listen: `${opts.listen.address}:${opts.listen.port}` } : {}) });
  return {
    url,
    pid: child.pid!,
    exited,
    stop: () => stopChild(child, exited, 'SIGINT', 30_000), // fast shutdown: roll back open transactions, checkpoint, exit
  };
}
