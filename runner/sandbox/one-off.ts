/**
 * One-off containers of a release: the run stack as root, /app as an overlay of the unpacked slug (shared lower)
 * and a throw-away upper dir, the dyno environment, a network namespace on the bridge. The release phase runs here;
 * `slipway run` and dynos use the same pieces.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dynoArgv, dynoEnv, type DynoIdentity } from './dyno-env.js';
import type { NetnsLeaser } from './netns-lease.js';
import type { Runc } from './runc.js';
import { appIdentity, identityBinds } from './identity.js';
import type { EgressPolicy } from '../../platform/egress.js';
import type { AddonEndpoint } from './network.js';
import { mintContainerName } from '../../platform/container-name.js';
import { createScratchDisk, removeScratchDisk } from './scratch-disk.js';

export interface OneOffOptions {
  runc: Runc;
  rootfs: string;
  withNetns: NetnsLeaser;
  scratchDir: string;
}

export interface OneOff {
  app: string;
  /** The /app overlay's lower dirs (top first, joined by `:`). */
  slugLowers: string;
  command: string;
  identity: DynoIdentity;
  memoryBytes: number;
  /** The scratch disk (/app's writable layer and /tmp). */
  diskBytes: number;
  /** The app's uid and egress policy. */
  uid?: number;
  egress?: EgressPolicy;
  /** The add-on servers the app is attached to (the release phase runs migrations against them). */
  addons?: AddonEndpoint[];
  timeoutMs: number;
  onLine: (line: string) => void;
}

export function createOneOffRunner(o: OneOffOptions) {
  return async function runOneOff(job: OneOff): Promise<{ code: number | null; timedOut: boolean }> {
    const [type, index] = job.identity.dyno.split('.');
    const id = mintContainerName({ app: job.app, release: { version: job.identity.releaseVersion }, process: type, index: Number(index) }, 'worker');
    await mkdir(o.scratchDir, { recursive: true, mode: 0o711 });
    const scratch = await mkdtemp(join(o.scratchDir, `${id}-`));
    try {
      const who = appIdentity(job.uid);
      const disk = await createScratchDisk(scratch, job.diskBytes, who.uid, who.gid);
      const identity = await identityBinds(o.rootfs, scratch, who);
      return await o.withNetns(id, async (netnsPath) => {
        const r = await o.runc.runOnce(
          {
            id, hostname: job.identity.dyno, rootfs: o.rootfs, app: { lower: job.slugLowers, upper: disk.upper, work: disk.work }, tmpDir: disk.tmp,
            binds: [{ source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true }, ...identity],
            args: dynoArgv(job.command), env: dynoEnv(job.identity), cwd: '/app', uid: who.uid, gid: who.gid,
            memoryBytes: job.memoryBytes, cpuShares: 1024, pidsLimit: 512, tmpBytes: 256 << 20, netnsPath, cgroupsPath: `/slipway/${id}`,
          },
          { onLine: job.onLine, timeoutMs: job.timeoutMs },
        );
        return { code: r.code, timedOut: r.timedOut };
      }, job.egress, job.addons);
    } finally {
      await removeScratchDisk(scratch);
      await rm(scratch, { recursive: true, force: true });
    }
  };
}

export type OneOffRunner = ReturnType<typeof createOneOffRunner>;
