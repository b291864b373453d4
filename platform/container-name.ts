/**
 * One naming scheme for every container Slipway starts — dynos, one-offs, release phases, build steps — and for
 * the network namespace, cgroup and scratch dirs made for it:
 *
 *   slipway-APP-RELEASE-PROCESS-INDEX-OWNER-GEN      e.g. slipway-shop-v12-web-2-a4711-k3x9q0
 *
 * - RELEASE: `vN`, the release it runs; a build step runs before there is a release: `b` + its build id's first 8
 *   hex digits (slipway-shop-b1f3e2a9c-build-3-w812-…);
 * - PROCESS, INDEX: the process type and the dyno's number (web.2 → web-2; run.5 → run-5; release-1; build-N is a
 *   build's Nth step);
 * - OWNER: who made it and alone may remove it: `a` + the agent's pid, `w` + the worker's pid;
 * - GEN: 6 random characters, new on every start (a restarted web.2 is a new container).
 *
 * Names are minted only on the data-plane side (the agent, a worker's build executor and release phase), never by
 * the control plane; runners refuse any other id, and a reaper removes only what it can prove is its own: a name of
 * this shape whose owner is of its role and no longer running. Read from the right, OWNER and GEN are
 * unambiguous; APP and PROCESS may both hold dashes, so the split between them is for people reading `runc list`.
 */
import { randomBytes } from 'node:crypto';

export type OwnerRole = 'agent' | 'worker';

export interface ContainerIdentity {
  app: string;
  /** The release it runs (its version), or the build it is a step of (the build's id). */
  release: { version: number } | { build: string };
  process: string;
  index: number;
}

const APP = /^[a-z][a-z0-9-]{0,29}$/;
const PROCESS = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const TAG: Record<OwnerRole, string> = { agent: 'a', worker: 'w' };
const NAME = /^slipway-[a-z][a-z0-9-]*?-(?:v\d{1,9}|b[0-9a-f]{8})-[a-z0-9]+(?:-[a-z0-9]+)*-(\d{1,6})-([aw])(\d{1,10})-([a-z0-9]{6})$/;
/** A scratch dir made with mkdtemp(`${name}-`): the name and mkdtemp's six characters. */
const DIR = /^(.*)-[A-Za-z0-9]{6}$/;
/**
 * Names before this scheme, recognised only so that an upgrade cleans them up: dynos (slipway-d-…), build steps
 * and build dirs (slipway-build-wPID-…), release phases (slipway-APP-vN-release-1-wPID-TIME, and their dirs).
 */
const LEGACY = {
  agent: /^slipway-d-[a-z0-9][a-z0-9-]{0,100}$/,
  worker: [/^slipway-build-w(\d+)-[A-Za-z0-9-]+$/, /^slipway-[a-z][a-z0-9-]*-v\d+-release-1-w(\d+)-[a-z0-9]{7,9}(?:-[A-Za-z0-9]{6})?$/],
};

/** The owner tag of this process in the given role. */
export const ownerTag = (role: OwnerRole, pid = process.pid): string => `${TAG[role]}${pid}`;

/** A fresh container name for this process (in role) to start the given dyno, one-off or build step as. */
export function mintContainerName(who: ContainerIdentity, role: OwnerRole): string {
  if (!APP.test(who.app)) throw new Error(`cannot name a container for app ${JSON.stringify(who.app)}`);
  if (!PROCESS.test(who.process) || who.process.length > 30) throw new Error(`cannot name a container for process ${JSON.stringify(who.process)}`);
  if (!Number.isInteger(who.index) || who.index < 0 || who.index > 999_999) throw new Error(`cannot name a container with index ${who.index}`);
  let release: string;
  if ('version' in who.release) {
    if (!Number.isInteger(who.release.version) || who.release.version < 0) throw new Error(`cannot name a container for release ${who.release.version}`);
    release = `v${who.release.version}`;
  } else {
    const hex = who.release.build.replace(/-/g, '').slice(0, 8).toLowerCase();
    if (!/^[0-9a-f]{8}$/.test(hex)) throw new Error(`cannot name a container for build ${JSON.stringify(who.release.build)}`);
    release = `b${hex}`;
  }
  const gen = [...randomBytes(6)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const name = `slipway-${who.app}-${release}-${who.process}-${who.index}-${ownerTag(role)}-${gen}`;
  if (!NAME.test(name)) throw new Error(`minted a name outside the scheme: ${name}`);
  return name;
}

/** Is this a name of the scheme that an agent minted (what a Runner accepts as a dyno's id)? */
export const isDynoName = (name: string): boolean => NAME.exec(name)?.[2] === 'a';

/** A dyno an agent made (this scheme, or the one before it): what an agent cleans when it starts. */
export const agentMade = (name: string): boolean => isDynoName(name) || LEGACY.agent.test(name);

/** Who made this container (or its scratch dir): its role and pid; undefined for anything not of the scheme. */
export function ownerOf(name: string): { role: OwnerRole; pid: number } | undefined {
  const m = NAME.exec(name) ?? NAME.exec(DIR.exec(name)?.[1] ?? '');
  if (m) return { role: m[2] === 'a' ? 'agent' : 'worker', pid: Number(m[3]) };
  for (const re of LEGACY.worker) {
    const legacy = re.exec(name);
    if (legacy) return { role: 'worker', pid: Number(legacy[1]) };
  }
  if (LEGACY.agent.test(name)) return { role: 'agent', pid: 0 };
  return undefined;
}

/** A name this role may remove when it is not its own and its maker is gone (pid 0: a legacy name, maker unknown). */
export function ownedByGone(name: string, role: OwnerRole): boolean {
  const o = ownerOf(name);
  if (!o || o.role !== role || o.pid === process.pid) return false;
  if (o.pid === 0) return true;
  try {
    process.kill(o.pid, 0);
    return false; // alive: not ours to clean
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
