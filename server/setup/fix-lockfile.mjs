// Run after `npm install` changes package-lock.json: `node server/setup/fix-lockfile.mjs`.
// The registry mirror this project uses serves only the linux builds of platform-specific optional
// packages, so npm leaves the other platforms out of the lockfile and `npm ci` then refuses it
// ("Missing: … from lock file"). This adds a record (version, os, cpu) for each missing one;
// `npm ci` skips them on this platform without fetching anything.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM = /-(darwin|linux|win32|freebsd|android)-(arm64|x64|arm|ia32)(?:-(gnu|musl|msvc))?$/;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const entry of Object.values(pkgs)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (pkgs[`node_modules/${dep}`]) continue;
    const m = PLATFORM.exec(dep);
    if (!m) {
      console.error(`not a platform package, left alone: ${dep}`);
      continue;
    }
    pkgs[`node_modules/${dep}`] = { version, cpu: [m[2]], license: 'MIT', optional: true, os: [m[1]] };
    added++;
  }
}
const sorted = Object.fromEntries(Object.keys(pkgs).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))).map((k) => [k, pkgs[k]]));
writeFileSync('package-lock.json', JSON.stringify({ ...lock, packages: sorted }, null, 2) + '\n');
console.log(`added ${added} platform records`);
