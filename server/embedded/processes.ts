import { execFile, type ChildProcess } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** The executable and working directory of a pid, to prove a leftover process is ours before stopping it. */
export async function describeProcess(pid: number): Promise<{ exe: string; cwd: string; cmdline: string } | undefined> {
  try {
    const [exe, cwd, cmdline] = await Promise.all([
      readlink(`/proc/${pid}/exe`),
      readlink(`/proc/${pid}/cwd`),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    return { exe, cwd, cmdline: cmdline.split('\0').join(' ') };
  } catch {
    return undefined;
  }
}

/** uid and gid of a system user, from /etc/passwd. */
export async function systemUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** A system user of its own for a server (no home, no shell), made when missing; root only. */
export async function ensureSystemUser(name: string): Promise<{ uid: number; gid: number }> {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error('not a system user name');
  let last: unknown;
  // Two starts at once (two platforms on one host) race for /etc/passwd's lock: the loser finds the winner's user.
  for (let attempt = 0; attempt < 10; attempt++) {
    const found = await systemUser(name);
    if (found) return found;
    try {
      await promisify(execFile)('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name]);
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100 + 100 * attempt));
    }
  }
  throw new Error(`the system user ${name} could not be made: ${(last as Error)?.message ?? 'useradd made none'}`);
}

/** Stops a server we spawned: signal, then SIGKILL if it has not exited within graceMs. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
