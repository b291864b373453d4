/**
 * The size budget, reported before the tests run (npm test; never pass/fail): source files over 300 lines and
 * functions over 80, largest first, so a change that grows one is seen in CI's output. Counts lines as written.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { PACKAGE_ROOT } from '../server/paths.js';

const DIRS = ['platform', 'server', 'runner', 'router', 'buildpacks', 'cli'];
const FILE_LINES = 300;
const FUNCTION_LINES = 80;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function functionsOf(file: string, text: string): { name: string; lines: number }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lines = sf.getLineAndCharacterOfPosition(node.getEnd()).line - sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const named = (node as { name?: ts.Node }).name;
      const parent = node.parent;
      const name = named?.getText(sf) ?? (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) ? parent.name.getText(sf) : '(anonymous)');
      if (lines > FUNCTION_LINES) found.push({ name, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files: { path: string; lines: number }[] = [];
const functions: { path: string; name: string; lines: number }[] = [];
for (const dir of DIRS) {
  for (const p of sources(join(PACKAGE_ROOT, dir))) {
    const text = readFileSync(p, 'utf8');
    const path = relative(PACKAGE_ROOT, p);
    files.push({ path, lines: text.split('\n').length });
    for (const f of functionsOf(p, text)) functions.push({ path, ...f });
  }
}
const overFiles = files.filter((f) => f.lines > FILE_LINES).sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
console.log(`size budget: ${overFiles.length} of ${files.length} source files over ${FILE_LINES} lines, ${functions.length} functions over ${FUNCTION_LINES}`);
for (const f of overFiles) console.log(`  file ${String(f.lines).padStart(5)}  ${f.path}`);
for (const f of functions) console.log(`  function ${String(f.lines).padStart(4)}  ${f.path} ${f.name}`);
