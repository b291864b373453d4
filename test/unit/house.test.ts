/**
 * The house's import rules (.dependency-cruiser.cjs, DESIGN.md's "Layout"), checked by dependency-cruiser over the
 * sources: no cycles; platform/ pure (no I/O, nothing of the project); the CLI speaks HTTP (platform/ only);
 * router, runner, buildpacks and platform never import server/; server/ reaches the runner through
 * runner/index.ts (its composition roots aside); no private Node modules. A violation fails here, named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../server/paths.js';

const run = promisify(execFile);

interface Violation { rule: { name: string; severity: string }; from: string; to: string; cycle?: { name: string }[] }

test('when the sources are cruised, then no import breaks the house\'s rules', async () => {
  const bin = join(PACKAGE_ROOT, 'node_modules', '.bin', 'depcruise');
  const r = await run(bin, ['platform', 'server', 'runner', 'router', 'buildpacks', 'cli', 'bench', 'test', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd: PACKAGE_ROOT, maxBuffer: 256 * 1024 * 1024 }).catch((e: { stdout?: string; message: string }) => ({ stdout: e.stdout ?? '', stderr: e.message }));
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  const said = out.summary.violations.map((v) => `${v.rule.severity} ${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
  assert.ok(out.summary.totalCruised > 300, `cruised ${out.summary.totalCruised} modules`);
  assert.deepEqual(said, [], said.join('\n'));
});
