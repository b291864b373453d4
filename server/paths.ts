import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this file holding package.json (works from dist/ and from source). */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('slipway: cannot find the package root (no package.json above ' + fileURLToPath(import.meta.url) + ')');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'server', 'db', 'migrations');
export const BIN_JS = join(PACKAGE_ROOT, 'dist', 'server', 'bin.js');
/** The built dashboard (Vite's output; not dist/web, where tsc puts the dashboard's pure modules for the unit tests). */
export const WEB_DIST = join(PACKAGE_ROOT, 'dist', 'dashboard');
