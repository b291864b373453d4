/**
 * npm test: the size budget's report, then every *.test.js under dist/test/{unit,integration,e2e,faults} with node's
 * test runner, whose summary (tests, pass, fail) closes the output (test/unit/house.test.ts checks the import
 * rules). `node dist/test/run.js unit` runs one group.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e', 'faults'];

function find(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const files = groups.flatMap((g) => find(join(here, g)));
if (files.length === 0) {
  console.error(`no test files found for: ${groups.join(', ')}`);
  process.exit(1);
}
// The size budget first (a report, never pass/fail): files over 300 lines, functions over 80 (test/size-budget.ts).
spawnSync(process.execPath, [join(here, 'size-budget.js')], { stdio: 'inherit' });
console.log(`running ${files.length} test files: ${files.map((f) => relative(here, f)).join(' ')}`);
const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
