/**
 * Dyno sizes, with Heroku's names. Memory is a hard limit (memory+swap equal, so no swap); cpu shares are relative
 * weights under contention; pids caps fork bombs. The default is standard-1x.
 */
export interface DynoSize {
  name: string;
  memoryBytes: number;
  cpuShares: number;
  pidsLimit: number;
  /** The /tmp tmpfs cap (containers without a scratch disk). */
  tmpBytes: number;
  /** The scratch disk: what /app's writable layer and /tmp may hold together (kernel-enforced, ENOSPC past it). */
  diskBytes: number;
  /** Open files per process (RLIMIT_NOFILE). */
  nofile: number;
  /** Processes and threads of the app's uid on a host (RLIMIT_NPROC); the pids limit caps each dyno. */
  nproc: number;
}

const MB = 1024 * 1024;
const size = (name: string, memoryMb: number, cpuShares: number, pidsLimit: number, diskMb: number, nofile: number): DynoSize => ({
  name, memoryBytes: memoryMb * MB, cpuShares, pidsLimit, tmpBytes: Math.min(1024, memoryMb) * MB,
  diskBytes: diskMb * MB, nofile, nproc: pidsLimit * 32,
});

export const DYNO_SIZES: readonly DynoSize[] = [
  size('eco', 512, 256, 256, 512, 10_000),
  size('basic', 512, 512, 256, 512, 10_000),
  size('standard-1x', 512, 1024, 256, 1024, 10_000),
  size('standard-2x', 1024, 2048, 512, 2048, 20_000),
  size('performance-m', 2560, 4096, 16384, 4096, 100_000),
  size('performance-l', 14336, 8192, 32768, 8192, 100_000),
];

export const DEFAULT_DYNO_SIZE = 'standard-1x';

/** The size by name (Heroku's names are case-insensitive: Standard-1X works). */
export function dynoSize(name: string | undefined): DynoSize | undefined {
  const n = (name ?? DEFAULT_DYNO_SIZE).toLowerCase();
  return DYNO_SIZES.find((s) => s.name === n);
}
