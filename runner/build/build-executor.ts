/**
 * Buildpack steps inside a build container: the build stack as a read-only root, the build, cache, env and
 * buildpack dirs bound at fixed paths (/tmp/build, /tmp/cache, /tmp/env, /tmp/buildpacks/N), uid 10000 with no
 * capabilities, cgroup memory and pids limits, and — for steps that need it — a network namespace on the bridge
 * with NAT out and no way to the host's own services.
 */
import { lchown, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildExecutor, ExecOptions, ExecResult } from './executor.js';
import type { NetworkConfig } from '../sandbox/network.js';
import { createNetnsLeaser, type AddressAllocator } from '../sandbox/netns-lease.js';
import type { BindMount } from '../sandbox/oci-spec.js';
import type { Runc } from '../sandbox/runc.js';
import { appIdentity, identityBinds, type Identity } from '../sandbox/identity.js';
import { mintContainerName } from '../../platform/container-name.js';

export type { AddressAllocator } from '../sandbox/netns-lease.js';

export interface RuncBuildExecutorOptions {
  runc: Runc;
  rootfs: string;
  network: NetworkConfig;
  addresses: AddressAllocator;
  memoryBytes: number;
  pidsLimit?: number;
  /** Binds every build gets (the download cache, the CA bundle, resolv.conf). */
  mounts: BindMount[];
  /** Where each app uid's passwd and group files for build containers are written. */
  identitiesDir: string;
}

/** Gives the app's uid the bound dirs (the build may write them; the host keeps ownership of nothing inside). */
async function chownTree(path: string, who: Identity): Promise<void> {
  const s = await lstat(path).catch(() => undefined);
  if (!s || s.isSymbolicLink()) return;
  if (s.uid !== who.uid || s.gid !== who.gid) await lchown(path, who.uid, who.gid);
  if (s.isDirectory()) for (const e of await readdir(path)) await chownTree(join(path, e), who);
}

let seq = 0;
const prepared = new Set<string>();

export function createRuncBuildExecutor(o: RuncBuildExecutorOptions): BuildExecutor {
  const withNetns = createNetnsLeaser(o.network, o.addresses);
  // Each app's passwd and group files are written once per worker, not at every build step.
  const identities = new Map<number, Promise<BindMount[]>>();
  const identityOf = (who: Identity): Promise<BindMount[]> => {
    let binds = identities.get(who.uid);
    if (!binds) {
      const dir = join(o.identitiesDir, String(who.uid));
      binds = mkdir(dir, { recursive: true, mode: 0o755 }).then(() => identityBinds(o.rootfs, dir, who));
      binds.catch(() => identities.delete(who.uid));
      identities.set(who.uid, binds);
    }
    return binds;
  };
  return {
    async run(argv: string[], opts: ExecOptions): Promise<ExecResult> {
      const mounts = [...(opts.mounts ?? []), ...o.mounts].map(({ source, destination, readonly }) => ({ source, destination, readonly }));
      // Host paths in argv, cwd and env become their paths inside the container.
      const sorted = [...mounts].sort((a, b) => b.source.length - a.source.length);
      const inside = (v: string) => {
        for (const m of sorted) if (v === m.source || v.startsWith(m.source + '/')) return m.destination + v.slice(m.source.length);
        return v;
      };
      // The build's own dirs go to the app's uid once (the build dir arrives root-owned from git archive).
      const who = appIdentity(opts.uid);
      for (const m of opts.mounts ?? []) {
        const key = `${who.uid}:${m.source}`;
        if (!m.owned || prepared.has(key)) continue;
        await chownTree(m.source, who);
        prepared.add(key);
        if (prepared.size > 1000) prepared.clear();
      }
      const identity = await identityOf(who);
      const id = mintContainerName(opts.container ?? { app: 'build', release: { build: '00000000' }, process: 'build', index: ++seq % 1_000_000 }, 'worker');
      const env = Object.fromEntries(Object.entries(opts.env).map(([k, v]) => [k, inside(v)]));
      const go = async (netnsPath?: string) => {
        const r = await o.runc.runOnce(
          {
            id, hostname: 'build', rootfs: o.rootfs, binds: [...mounts, ...identity], args: argv.map(inside), env, cwd: inside(opts.cwd),
            uid: who.uid, gid: who.gid, memoryBytes: o.memoryBytes, cpuShares: 1024, pidsLimit: o.pidsLimit ?? 4096,
            tmpBytes: 1 << 30, netnsPath, cgroupsPath: `/slipway/${id}`,
          },
          { onLine: opts.onLine, timeoutMs: opts.timeoutMs, signal: opts.signal },
        );
        return { code: r.code, signal: r.signal, stdout: r.stdout, timedOut: r.timedOut, oomKilled: r.oomKilled };
      };
      return opts.network ? withNetns(id, (path) => go(path), opts.egress) : go();
    },
  };
}
