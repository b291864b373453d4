/**
 * One `slipway up` per host. Two on one host would share its data dir (repos, slugs, the embedded databases) or
 * its agents registry row, bridge and rendezvous port, and the second would half start: its agent down, its
 * health read from the first. So `up` refuses to start, naming the running one, when
 * - the data dir is held: `DATA/up.pid` names a `slipway up` process that still runs (a file left by one that
 *   died, or a pid reused by another program, does not count), or
 * - the database already has a live agent for this host whose process still runs here (the same PostgreSQL with
 *   another data dir).
 */
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hostTakenMessage, type AgentRegistry } from '../plane/agents.js';

/** A refusal to start that the user is told as is. */
export class UpRefused extends Error {}

interface Holder {
  pid: number;
  startedAt: string;
  apiUrl: string;
  routerUrl: string;
}

/** Is pid a `slipway up` that still runs (not a pid the kernel reused for something else)? */
async function isUp(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return argv.some((a) => /(^|\/)(bin\.js|slipway)$/.test(a)) && argv.includes('up');
}

/** Takes the data dir for this process, or throws UpRefused naming the `slipway up` that holds it. */
export async function holdDataDir(dataDir: string, me: { apiUrl: string; routerUrl: string }): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'up.pid');
  const mine: Holder = { pid: process.pid, startedAt: new Date().toISOString(), ...me };
  for (let attempt = 0; attempt < 3; attempt++) {
    const fh = await open(file, 'wx', 0o644).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return undefined;
      throw e;
    });
    if (fh) {
      await fh.writeFile(JSON.stringify(mine) + '\n');
      await fh.close();
      return {
        async release() {
          const now = await readFile(file, 'utf8').then((t) => JSON.parse(t) as Holder, () => undefined);
          if (now?.pid === process.pid) await rm(file, { force: true });
        },
      };
    }
    const held = await readFile(file, 'utf8').then((t) => JSON.parse(t) as Holder, () => undefined);
    if (held && (await isUp(held.pid))) {
      throw new UpRefused(
        `Slipway is already running on this host with the data dir ${dataDir}: \`slipway up\` pid ${held.pid}, started ${held.startedAt}, ` +
          `API ${held.apiUrl}, router ${held.routerUrl}. One Slipway runs per host: stop that one first (Ctrl-C where it runs, or kill -TERM ${held.pid}), or use it.`);
    }
    await rm(file, { force: true }); // left by an up that is gone
  }
  throw new UpRefused(`Could not take ${file}: another \`slipway up\` is starting with this data dir at the same moment.`);
}

/** Throws UpRefused when the database has a live agent for this host whose process still runs here. */
export async function checkHostFree(agents: AgentRegistry): Promise<void> {
  const holder = await agents.holder(hostname());
  if (holder) throw new UpRefused(hostTakenMessage(holder));
}
