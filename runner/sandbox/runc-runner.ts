/**
 * The real Runner: each dyno is a runc container on the run stack (read-only root, /app an overlay of the release's
 * unpacked slug and a per-dyno upper dir, /tmp a capped tmpfs, cgroup limits from its size) in its own network
 * namespace on the bridge, with an address leased from Postgres and iptables rules letting it talk to its own app's
 * dynos only. `runc run` stays in the foreground as the agent's child (its own process group, so a Ctrl-C meant for
 * the platform does not reach dynos): its exit status is the dyno's, its stdout and stderr are the dyno's output.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dynoArgv, dynoEnv } from './dyno-env.js';
import { wireOutput, type DynoExit, type DynoHandle, type DynoSpec, type DynoStats, type Runner, type StartOptions } from '../runner.js';
import { agentMade, isDynoName } from '../../platform/container-name.js';
import type { AddressAllocator } from './netns-lease.js';
import { allowAddonTraffic, allowAppTraffic, bridgeOnce, createNetns, removeAddonTraffic, removeAppTraffic, removeNetns, type NetworkConfig } from './network.js';
import { ociSpec } from './oci-spec.js';
import { oomKills, type Runc } from './runc.js';
import { appIdentity, identityBinds } from './identity.js';
import { applyEgress } from './egress.js';
import { createDiskAdmission, createScratchDisk, removeScratchDisk, scratchUse } from './scratch-disk.js';

export interface RuncRunnerOptions {
  runc: Runc;
  runcBinary?: string;
  runcRoot: string;
  bundles: string;
  rootfs: string;
  network: NetworkConfig;
  addresses: AddressAllocator & { releaseOwners(owners: string[]): Promise<unknown> };
  /**
   * The read-only lower dirs of /app for the release's slug (its layers unpacked, top first, joined by `:`; or the
   * one dir of a slug made before layers), shared by the app's dynos; what the app may write to is its uid's.
   */
  slugLowers(digest: string, owner: { uid: number; gid: number }): Promise<string>;
  /** Per-dyno upper and work dirs. */
  dynosDir: string;
  /** $PORT inside every dyno (each has its own netns, so they can all use it). */
  port: number;
  /** Free disk under dynosDir that dyno scratch disks never promise away (scratch-disk.ts); 0: no check. */
  diskReserveBytes?: number;
}

const cgroupPath = (id: string) => `/slipway/${id}`;

async function readNumber(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

export async function cgroupStats(path: string): Promise<DynoStats | undefined> {
  const memory = await readNumber(join('/sys/fs/cgroup/memory', path, 'memory.usage_in_bytes'));
  if (memory === undefined) return undefined;
  const cache = /(?:^|\n)total_inactive_file (\d+)/.exec(await readFile(join('/sys/fs/cgroup/memory', path, 'memory.stat'), 'utf8').catch(() => ''));
  return {
    // What Heroku reports as memory_total: usage less reclaimable page cache.
    memoryBytes: Math.max(0, memory - Number(cache?.[1] ?? 0)),
    memoryLimitBytes: (await readNumber(join('/sys/fs/cgroup/memory', path, 'memory.limit_in_bytes'))) ?? 0,
    cpuSeconds: ((await readNumber(join('/sys/fs/cgroup/cpuacct', path, 'cpuacct.usage'))) ?? 0) / 1e9,
    pids: (await readNumber(join('/sys/fs/cgroup/pids', path, 'pids.current'))) ?? 0,
  };
}

/** What cleanup() needs to undo a dyno (its dir's dyno.json): the rules made for its address. */
interface DynoMeta {
  appId?: string;
  address?: string;
  /** Rules letting it reach add-on servers were made. */
  addons?: boolean;
}

export function createRuncRunner(o: RuncRunnerOptions): Runner {
  const bridge = bridgeOnce(o.network);
  const disks = createDiskAdmission({ dir: o.dynosDir, reserveBytes: o.diskReserveBytes ?? 0 });

  /** Everything a dyno holds, released in reverse; each step tolerates what is already gone. */
  async function release(id: string, meta: DynoMeta): Promise<void> {
    const { appId, address } = meta;
    await o.runc.kill(id);
    await o.runc.remove(id);
    await removeNetns(id);
    if (appId && address) await removeAppTraffic(o.network, appId, address);
    if (address && meta.addons) await removeAddonTraffic(address);
    await o.addresses.releaseOwners([id]);
    await removeScratchDisk(join(o.dynosDir, id));
    disks.release(id);
    await rm(join(o.dynosDir, id), { recursive: true, force: true });
  }

  return {
    kind: 'runc',
    async start(spec: DynoSpec, opts: StartOptions): Promise<DynoHandle> {
      if (!isDynoName(spec.id)) throw new Error(`not a dyno id: ${spec.id}`);
      await bridge();
      const who = appIdentity(spec.uid);
      const lower = await o.slugLowers(spec.release.slugDigest, who);
      const dir = join(o.dynosDir, spec.id);
      const address = await o.addresses.allocate(spec.id);
      const meta: DynoMeta = { appId: spec.appId, address, addons: (spec.addons?.length ?? 0) > 0 };
      let child: ReturnType<typeof spawn> | undefined;
      try {
        await mkdir(o.dynosDir, { recursive: true, mode: 0o711 });
        await mkdir(dir, { mode: 0o711 });
        // What cleanup() needs to undo this dyno if this agent dies: written before anything outside the dir exists.
        await writeFile(join(dir, 'dyno.json'), JSON.stringify(meta));
        await disks.admit(spec.id, dir, spec.size.diskBytes, `a ${spec.size.name} dyno's disk`);
        const disk = await createScratchDisk(dir, spec.size.diskBytes, who.uid, who.gid);
        const ns = await createNetns(o.network, spec.id, address);
        if (spec.egress) await applyEgress(ns.name, spec.egress, o.network.subnet);
        await allowAppTraffic(o.network, spec.appId, address);
        if (meta.addons) await allowAddonTraffic(address, spec.addons!);
        const bundle = join(o.bundles, spec.id);
        await mkdir(bundle, { recursive: true, mode: 0o700 });
        await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec({
          id: spec.id, hostname: spec.name, rootfs: o.rootfs,
          app: { lower, upper: disk.upper, work: disk.work }, tmpDir: disk.tmp,
          binds: [{ source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true }, ...(await identityBinds(o.rootfs, dir, who))],
          args: dynoArgv(spec.command, spec.tty),
          env: dynoEnv({ dyno: spec.name, port: o.port, releaseVersion: spec.release.version, config: spec.config }),
          cwd: '/app', uid: who.uid, gid: who.gid,
          memoryBytes: spec.size.memoryBytes, cpuShares: spec.size.cpuShares, pidsLimit: spec.size.pidsLimit, tmpBytes: spec.size.tmpBytes,
          nofile: spec.size.nofile, nproc: spec.size.nproc,
          netnsPath: ns.path, cgroupsPath: cgroupPath(spec.id),
        })));
        // --keep: the cgroup outlives the process until we delete it, so an OOM kill can be read from it.
        child = spawn(o.runcBinary ?? 'runc', ['--root', o.runcRoot, 'run', '--keep', '--bundle', bundle, spec.id], {
          stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
          detached: true,
        });
      } catch (e) {
        await release(spec.id, meta);
        throw e;
      }
      const proc = child;
      const flush = wireOutput(proc, opts);
      const exited = new Promise<DynoExit>((resolve) => {
        let done = false;
        const finish = async (code: number | null) => {
          if (done) return;
          done = true;
          flush();
          const oom = (await oomKills(cgroupPath(spec.id))) > 0;
          await release(spec.id, meta).catch(() => undefined);
          resolve({ code, oomKilled: oom });
        };
        proc.on('error', () => void finish(null));
        proc.on('close', (code, signal) => void finish(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : null)));
      });
      return { id: spec.id, host: address, port: o.port, exited };
    },
    async signal(id, signal) {
      if (!isDynoName(id)) throw new Error(`not a dyno id: ${id}`);
      // --all: every process in the dyno's cgroup, as Heroku signals every process of a dyno.
      await o.runc.killAll(id, signal);
    },
    async stats(id) {
      const s = await cgroupStats(cgroupPath(id));
      const disk = s && (await scratchUse(join(o.dynosDir, id)));
      return s && disk ? { ...s, diskBytes: disk.usedBytes, diskLimitBytes: disk.totalBytes } : s;
    },
    /**
     * Containers under this runner's runc root, and dyno dirs: a dyno's dir is made first and removed last, so
     * whatever else of it exists (netns, veth, rules, address) has a dir that names it.
     */
    async list() {
      const ids = new Set<string>();
      for (const c of await o.runc.list()) if (agentMade(c.id)) ids.add(c.id);
      for (const d of await readdir(o.dynosDir).catch(() => [] as string[])) if (agentMade(d)) ids.add(d);
      return [...ids];
    },
    async cleanup(id) {
      if (!agentMade(id)) throw new Error(`not a dyno id: ${id}`);
      const meta: DynoMeta = await readFile(join(o.dynosDir, id, 'dyno.json'), 'utf8').then((t) => JSON.parse(t) as DynoMeta, () => ({}));
      await release(id, meta);
    },
  };
}
