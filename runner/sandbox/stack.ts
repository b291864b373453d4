/**
 * Stacks: Debian bookworm minbase root filesystems built with debootstrap, one for running dynos and one for
 * builds (with compilers), as Heroku splits its run and build images. A stack is named by a hash of its recipe,
 * so a changed recipe builds a new stack and the old one stays for the releases that use it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type StackKind = 'run' | 'build';

/** The unprivileged user dynos and builds run as. */
export const DYNO_UID = 10000;
export const DYNO_GID = 10000;

// libatomic1: node 24 and later link it (the run stack is checked against what builds install: run-stack-check.ts).
const BASE_PACKAGES = ['ca-certificates', 'python3', 'libstdc++6', 'libatomic1', 'curl', 'procps', 'tzdata'];
/** Dynos also get the add-ons' clients (pg:psql and redis:cli run psql and redis-cli in a one-off dyno). */
const RUN_PACKAGES = [...BASE_PACKAGES, 'postgresql-client', 'redis-tools'];
const BUILD_PACKAGES = [...BASE_PACKAGES, 'git', 'make', 'g++', 'python3-pip', 'xz-utils', 'bzip2', 'unzip', 'patch'];

export interface StackRecipe {
  suite: string;
  variant: string;
  packages: string[];
  revision: number; // bump to rebuild with the same packages
}

export const RECIPES: Record<StackKind, StackRecipe> = {
  run: { suite: 'bookworm', variant: 'minbase', packages: RUN_PACKAGES, revision: 1 },
  build: { suite: 'bookworm', variant: 'minbase', packages: BUILD_PACKAGES, revision: 1 },
};

export function stackName(kind: StackKind, recipe: StackRecipe = RECIPES[kind]): string {
  const hash = createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 10);
  return `${recipe.suite}-${kind}-${hash}`;
}

export const stackPath = (stacksDir: string, kind: StackKind) => join(stacksDir, stackName(kind));

const complete = (dir: string) => stat(join(dir, '.slipway-stack')).then(() => true, () => false);

/**
 * The stack's root filesystem, built if missing (about a minute; needs root and Debian's archive).
 * Concurrent callers are safe: each builds into its own temp dir and the first rename wins.
 */
export async function ensureStack(stacksDir: string, kind: StackKind, opts: { mirror?: string; log?: (line: string) => void } = {}): Promise<string> {
  const final = stackPath(stacksDir, kind);
  if (await complete(final)) return final;
  const log = opts.log ?? (() => undefined);
  const recipe = RECIPES[kind];
  await mkdir(stacksDir, { recursive: true, mode: 0o755 });
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  log(`building the ${kind} stack ${stackName(kind)} with debootstrap (${recipe.packages.length} packages)`);
  try {
    await run('debootstrap', [`--variant=${recipe.variant}`, `--include=${recipe.packages.join(',')}`, recipe.suite, tmp, opts.mirror ?? 'http://deb.debian.org/debian'], {
      maxBuffer: 64 << 20,
      timeout: 20 * 60_000,
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const err = e as { stderr?: string; stdout?: string; message: string };
    const detail = (err.stderr || err.stdout || err.message).trim().split('\n').slice(-3).join(' / ');
    throw new Error(`debootstrap failed building the ${kind} stack: ${detail}`);
  }
  // What every dyno expects: /app, a dyno user, no apt caches.
  await mkdir(join(tmp, 'app'), { recursive: true });
  await appendFile(join(tmp, 'etc', 'passwd'), `dyno:x:${DYNO_UID}:${DYNO_GID}:dyno:/app:/bin/bash\n`);
  await appendFile(join(tmp, 'etc', 'group'), `dyno:x:${DYNO_GID}:\n`);
  await rm(join(tmp, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  await rm(join(tmp, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
  await mkdir(join(tmp, 'var', 'lib', 'apt', 'lists'), { recursive: true });
  // Mount points the runner binds over (runc must never create files inside a shared, read-only stack).
  for (const f of ['resolv.conf', 'hosts']) await writeFile(join(tmp, 'etc', f), '', { flag: 'a' });
  await writeFile(join(tmp, '.slipway-stack'), JSON.stringify({ name: stackName(kind), kind, recipe, built_at: new Date().toISOString() }) + '\n');
  try {
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await complete(final))) throw e; // someone else finished first: use theirs
  }
  log(`stack ${stackName(kind)} ready`);
  return final;
}
