import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AppName } from '../names.js';

const run = promisify(execFile);

/** Where apps' bare git repositories live. The git receiver serves only repos this store created. */
export interface RepoStore {
  create(app: AppName): Promise<void>;
  remove(app: AppName): Promise<void>;
  rename(from: AppName, to: AppName): Promise<void>;
  exists(app: AppName): Promise<boolean>;
  /** Bytes on disk, or null when there is no repo. */
  size(app: AppName): Promise<number | null>;
  path(app: AppName): string;
}

async function du(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += await du(p);
    else if (entry.isFile()) total += (await stat(p)).size;
  }
  return total;
}

/** Bare repos at DIR/APP.git, made with `git init --bare`. */
export function createRepoStore(dir: string, onCreate?: (repoPath: string, app: AppName) => Promise<void>): RepoStore {
  const path = (app: AppName) => join(dir, `${app}.git`);
  const exists = async (app: AppName) => stat(path(app)).then((s) => s.isDirectory(), () => false);
  return {
    path,
    exists,
    async create(app) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', '--', path(app)]);
      await run('git', ['--git-dir', path(app), 'config', 'receive.denyNonFastForwards', 'false']);
      await run('git', ['--git-dir', path(app), 'config', 'http.receivepack', 'true']);
      if (onCreate) await onCreate(path(app), app);
    },
    async remove(app) {
      await rm(path(app), { recursive: true, force: true });
    },
    async rename(from, to) {
      if (await exists(from)) await rename(path(from), path(to));
    },
    async size(app) {
      return (await exists(app)) ? du(path(app)) : null;
    },
  };
}
