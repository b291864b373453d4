/**
 * The README and docs/ stay true: the README links every page of docs/ and every relative link resolves; every
 * `slipway COMMAND` they show is a command the real binary has; every setting docs/configuration.md names is one the
 * platform reads, and every setting it reads is there; every `npm run SCRIPT` exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { configToEnv } from '../../server/config-env.js';
import { loadConfig } from '../../server/config.js';

const run = promisify(execFile);
const DOCS = join(PACKAGE_ROOT, 'docs');
const pages = () => [join(PACKAGE_ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];
const read = (p: string) => readFileSync(p, 'utf8');

test('when the README and docs/ are read, then the README links every page and every relative link resolves', () => {
  const readme = read(join(PACKAGE_ROOT, 'README.md'));
  for (const f of readdirSync(DOCS).filter((x) => x.endsWith('.md'))) assert.ok(readme.includes(`(docs/${f})`), `the README links docs/${f}`);
  const broken: string[] = [];
  for (const p of pages()) {
    for (const [, target] of read(p).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(dirname(p), target))) broken.push(`${p.slice(PACKAGE_ROOT.length + 1)} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('when the docs show slipway commands, then each is one the binary has', async () => {
  const help = (await run(process.execPath, [join(PACKAGE_ROOT, 'dist', 'server', 'bin.js'), '--help'])).stdout;
  const known = new Set([...help.matchAll(/^ {2}([a-z][a-z0-9:-]*)/gm)].map((m) => m[1]));
  assert.ok(known.has('up') && known.has('apps:create') && known.size > 50, `the binary's commands: ${[...known].join(' ')}`);
  const unknown = new Set<string>();
  for (const p of pages()) {
    // `slipway COMMAND`, not the git remote of that name (`git push slipway main`, `git remote add slipway URL`).
    for (const m of read(p).matchAll(/(^|[`\s$(])slipway ([a-z][a-z0-9-]*(?::[a-z0-9-]+)*)/gm)) {
      const before = read(p).slice(Math.max(0, m.index! - 12), m.index! + m[1].length);
      if (/(push|add|pull|fetch|remote)\s$/.test(before)) continue;
      if (!known.has(m[2])) unknown.add(`${p.slice(PACKAGE_ROOT.length + 1)}: slipway ${m[2]}`);
    }
  }
  assert.deepEqual([...unknown], []);
});

test('when docs/configuration.md lists settings, then each is one the platform reads and each it reads is listed', () => {
  const doc = read(join(DOCS, 'configuration.md'));
  const listed = new Set([...doc.matchAll(/`(SLIPWAY_[A-Z0-9_]+)`/g)].map((m) => m[1]));
  const read_ = new Set(Object.keys(configToEnv(loadConfig({}))).filter((k) => k.startsWith('SLIPWAY_')));
  const source = read(join(PACKAGE_ROOT, 'server', 'config.ts')) + read(join(PACKAGE_ROOT, 'server', 'config-parse.ts'));
  assert.deepEqual([...read_].filter((k) => !listed.has(k)).sort(), [], 'settings the platform reads that docs/configuration.md does not list');
  assert.deepEqual([...listed].filter((k) => !source.includes(k)).sort(), [], 'settings docs/configuration.md lists that the platform does not read');
});

test('when the docs show npm run SCRIPT, then the script exists', () => {
  const scripts = Object.keys((JSON.parse(read(join(PACKAGE_ROOT, 'package.json'))) as { scripts: Record<string, string> }).scripts);
  const missing = new Set<string>();
  for (const p of pages()) for (const [, s] of read(p).matchAll(/npm run ([a-z][a-z:-]*)/g)) if (!scripts.includes(s)) missing.add(`${p.slice(PACKAGE_ROOT.length + 1)}: npm run ${s}`);
  assert.deepEqual([...missing], []);
});
