/**
 * The host's disk is protected: the last SLIPWAY_DISK_RESERVE_MB free under the data dir are kept for what must
 * never run out (PostgreSQL, Redis, the git repos). Whatever a tenant can make grow — a build, a push, a source
 * upload — is refused while free space is below the reserve, after garbage collection was given a chance to free
 * some (507, naming the figures). Dyno scratch disks have their own admission in the runner (runc-runner.ts).
 */
import { insufficientStorage } from '../errors.js';
import { freeBytes } from '../../runner/index.js';

export interface DiskGuard {
  /** Bytes free to unprivileged writers under the data dir. */
  free(): Promise<number>;
  /** Throws a 507 naming the figures when `what` would eat into the reserve. */
  check(what: string): Promise<void>;
}

const mb = (n: number) => Math.floor(n / 2 ** 20);

export function createDiskGuard(o: { dataDir: string; reserveBytes: number; collect?: () => Promise<unknown> }): DiskGuard {
  const free = () => freeBytes(o.dataDir);
  return {
    free,
    async check(what) {
      if ((await free()) >= o.reserveBytes) return;
      await o.collect?.().catch(() => undefined);
      const left = await free();
      if (left >= o.reserveBytes) return;
      throw insufficientStorage(
        `The platform's disk is nearly full: ${mb(left)} MB free, and the last ${mb(o.reserveBytes)} MB are kept for its database, ` +
          `queues and git repositories (SLIPWAY_DISK_RESERVE_MB). ${what} is refused until an operator frees space.`,
      );
    },
  };
}
