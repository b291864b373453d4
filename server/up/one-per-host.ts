/**
 * One `slipway up` per host. Two on one host would share its data dir (repos, slugs, the embedded databases) or
 * its agents registry row, bridge and rendezvous port, and the second would half start: its agent down, its
 * health read from the first. So `up` refuses to start, naming the running one, when
 * - the data dir is held: `DATA/up.pid` names a `slipway up` process that still runs (a file left by one that
 *   died, or a pid reused by another program, does not count), or
 * - the bridge is held: `/run/slipway/bridge-NAME.json` names a running `slipway up` (another data dir, another
 *   database: the dyno network, its addresses and the add-on servers' gateway address are the host's, one per
 *   bridge; a second Slipway on one host needs a bridge, subnet and ports of its own), or
 * - the database already has a live agent for this host whose process still runs here (the same PostgreSQL with
 *   another data dir).
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
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
  dataDir?: string;
}

/** Where `up` says which bridge it holds: /run is the host's and empty after a reboot, as the bridge is. */
export const BRIDGE_LOCKS = '/run/slipway';

/** Is pid a `slipway up` that still runs (not a pid the kernel reused for something else)? */
async function isUp(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return argv.some((a) => /(^|\/)(bin\.js|slipway)$/.test(a)) && argv.includes('up');
}

export interface Held {
  release(): Promise<void>;
}

/** Takes file for this process (O_EXCL), or throws UpRefused with refusal(holder) while a running up holds it. */
async function holdFile(file: string, mine: Holder, refusal: (held: Holder) => string): Promise<Held> {
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
    if (held && (await isUp(held.pid))) throw new UpRefused(refusal(held));
    await rm(file, { force: true }); // left by an up that is gone
  }
  throw new UpRefused(`Could not take ${file}: another \`slipway up\` is starting at the same moment.`);
}

const holderOf = (me: { apiUrl: string; routerUrl: string; dataDir?: string }): Holder => ({ pid: process.pid, startedAt: new Date().toISOString(), ...me });

/** Takes the data dir for this process, or throws UpRefused naming the `slipway up` that holds it. */
export async function holdDataDir(dataDir: string, me: { apiUrl: string; routerUrl: string }): Promise<Held> {
  return holdFile(join(dataDir, 'up.pid'), holderOf(me), (held) =>
    `Slipway is already running on this host with the data dir ${dataDir}: \`slipway up\` pid ${held.pid}, started ${held.startedAt}, ` +
      `API ${held.apiUrl}, router ${held.routerUrl}. One Slipway runs per host: stop that one first (Ctrl-C where it runs, or kill -TERM ${held.pid}), or use it.`);
}

/** Takes the dyno bridge for this process, or throws UpRefused naming the `slipway up` on it, whatever its data dir. */
export async function holdBridge(bridge: string, me: { apiUrl: string; routerUrl: string; dataDir: string }, dir = BRIDGE_LOCKS): Promise<Held> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return holdFile(join(dir, `bridge-${bridge}.json`), holderOf(me), (held) =>
    `Slipway is already running on this host on the bridge ${bridge}: \`slipway up\` pid ${held.pid}, started ${held.startedAt}, ` +
      `data dir ${held.dataDir ?? 'unknown'}, API ${held.apiUrl}, router ${held.routerUrl}. One Slipway runs per host: stop that one first ` +
      `(kill -TERM ${held.pid}), or use it; a second one needs a bridge, subnet and ports of its own (SLIPWAY_BRIDGE, SLIPWAY_SUBNET, ` +
      'SLIPWAY_ADDON_POSTGRES_PORT, SLIPWAY_ADDON_REDIS_PORTS, SLIPWAY_RENDEZVOUS_PORT).');
}

/** Throws UpRefused when the database has a live agent for this host whose process still runs here. */
export async function checkHostFree(agents: AgentRegistry): Promise<void> {
  const holder = await agents.holder(hostname());
  if (holder) throw new UpRefused(hostTakenMessage(holder));
}
