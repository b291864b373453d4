/**
 * ProcessSpec → OCI runtime config.json, a pure function (unit-tested without runc).
 * Root: the stack, read-only. /app: an overlay of the release's unpacked slug (shared, read-only lower) and a
 * per-dyno upper dir; or, for build containers, writable binds. /tmp: a dir of the scratch disk, or a size-capped
 * tmpfs. Every container gets Docker's default seccomp profile (seccomp.ts) and no IPv6 in its network namespace.
 */
import { seccompProfile } from './seccomp.js';

export interface BindMount {
  source: string;
  destination: string;
  readonly: boolean;
}

export interface ProcessSpec {
  /** Container id: slipway-APP-vN-web-1 style, the ownership proof for cleanup. */
  id: string;
  hostname: string;
  rootfs: string;
  /**
   * /app as overlay(lower, upper, work): lower is the slug's layers unpacked, top first, joined by `:` (or the one dir of
   * a slug made before layers); absent for build containers, which bind their dirs instead.
   */
  app?: { lower: string; upper: string; work: string };
  binds?: BindMount[];
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  memoryBytes: number;
  /** Relative CPU weight (cgroup v1 cpu.shares) and an optional hard cap in cores. */
  cpuShares: number;
  cpuCores?: number;
  pidsLimit: number;
  tmpBytes: number;
  /** /tmp as a bind of this dir of the container's scratch disk (scratch-disk.ts) instead of a tmpfs of tmpBytes. */
  tmpDir?: string;
  /** RLIMIT_NOFILE and RLIMIT_NPROC (per uid, so per app: the pids cgroup caps each container); cores are off. */
  nofile?: number;
  nproc?: number;
  /** A network namespace to join (/var/run/netns/NAME); absent: a fresh one with only loopback. */
  netnsPath?: string;
  /** The host's network (an add-on server listening on the bridge's gateway): no namespace of its own, no sysctls. */
  hostNetwork?: boolean;
  cgroupsPath: string;
}

/** What Docker masks and makes read-only in /proc and /sys. */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const CPU_PERIOD = 100_000;

export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

export function ociSpec(p: ProcessSpec): Record<string, unknown> {
  const appMounts = p.app
    ? [{ destination: '/app', type: 'overlay', source: 'overlay', options: [`lowerdir=${p.app.lower}`, `upperdir=${p.app.upper}`, `workdir=${p.app.work}`, 'nodev', 'nosuid'] }]
    : [];
  const binds = (p.binds ?? []).map((b) => ({
    destination: b.destination, type: 'bind', source: b.source, options: ['rbind', 'nosuid', 'nodev', ...(b.readonly ? ['ro', 'rro'] : ['rw'])],
  }));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: p.uid, gid: p.gid, additionalGids: [] },
      args: p.args,
      env: envList(p.env),
      cwd: p.cwd,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: p.nofile ?? 10000, soft: p.nofile ?? 10000 },
        { type: 'RLIMIT_NPROC', hard: p.nproc ?? 65536, soft: p.nproc ?? 65536 },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
      ],
      noNewPrivileges: true,
      oomScoreAdj: 500,
    },
    root: { path: p.rootfs, readonly: true },
    hostname: p.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      p.tmpDir
        ? { destination: '/tmp', type: 'bind', source: p.tmpDir, options: ['rbind', 'nosuid', 'nodev', 'rw'] }
        : { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', `size=${p.tmpBytes}`] },
      ...appMounts,
      ...binds,
    ],
    linux: {
      namespaces: [
        { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' },
        ...(p.hostNetwork ? [] : [p.netnsPath ? { type: 'network', path: p.netnsPath } : { type: 'network' }]),
      ],
      cgroupsPath: p.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: p.memoryBytes, swap: p.memoryBytes }, // v1: swap is memory+swap, so no swap at all
        cpu: { shares: p.cpuShares, ...(p.cpuCores ? { quota: Math.round(p.cpuCores * CPU_PERIOD), period: CPU_PERIOD } : {}) },
        pids: { limit: p.pidsLimit },
      },
      // The bridge is IPv4 only: no link-local fe80:: address through which a dyno could reach a neighbour.
      ...(p.hostNetwork ? {} : { sysctl: { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' } }),
      seccomp: seccompProfile(),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
