/**
 * What a build installed must run where dynos run. A buildpack runs in the build stack, which has compilers and
 * their libraries; dynos run on the run stack, which has fewer. After compile, the executables the build installed
 * (in the bin dirs under .heroku, and bin) are checked with the run stack's own `ldd`, in a run-stack container with the build
 * dir bound read-only at /app: each shared library one needs and the run stack lacks fails the build, naming both,
 * rather than the dyno crashing at boot (`error while loading shared libraries`).
 */
import { appIdentity } from '../sandbox/identity.js';
import { mintContainerName } from '../../platform/container-name.js';
import type { Runc } from '../sandbox/runc.js';

/** Prints `PATH: LIBRARY` for each library an ELF executable under /app needs and cannot find. */
const SCRIPT = `for f in /app/.heroku/*/bin/* /app/bin/*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  ldd "$f" 2>/dev/null | while read -r lib arrow rest; do
    [ "$arrow $rest" = '=> not found' ] && echo "\${f#/app/}: $lib"
  done
done; true`;

export interface RunStackProblem {
  /** The executable, relative to the app dir (.heroku/node/bin/node). */
  file: string;
  library: string;
}

export function createRunStackCheck(o: { runc: Runc; rootfs: string }) {
  return async function check(buildDir: string, who: { app: string; buildId: string; uid: number }): Promise<RunStackProblem[]> {
    const id = mintContainerName({ app: who.app, release: { build: who.buildId }, process: 'check', index: 0 }, 'worker');
    const user = appIdentity(who.uid);
    const lines: string[] = [];
    const r = await o.runc.runOnce({
      id, hostname: 'check', rootfs: o.rootfs, binds: [{ source: buildDir, destination: '/app', readonly: true }],
      args: ['/bin/sh', '-c', SCRIPT], env: { PATH: '/usr/bin:/bin' }, cwd: '/', uid: user.uid, gid: user.gid,
      memoryBytes: 256 << 20, cpuShares: 512, pidsLimit: 64, tmpBytes: 16 << 20, cgroupsPath: `/slipway/${id}`,
    }, { onLine: (l) => lines.push(l), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`the run stack check could not run (exit ${r.code})`);
    return lines.map((l) => /^(\S+): (\S+)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => ({ file: m[1], library: m[2] }));
  };
}

export type RunStackCheck = ReturnType<typeof createRunStackCheck>;

/** The build error for what the check found. */
export function describeRunStackProblems(problems: RunStackProblem[]): string {
  const lines = problems.slice(0, 10).map((p) => `${p.file} needs ${p.library}, which the run stack does not have.`);
  return [...lines, 'A dyno would crash at boot; use a version built for Debian bookworm, or ask an operator to add the library to the run stack.'].join('\n');
}
