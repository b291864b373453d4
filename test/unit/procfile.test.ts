import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcfile, parseReleaseYaml } from '../../buildpacks/procfile.js';
import { chooseDeploy } from '../../server/stages/receive.js';

test('when a Procfile is well formed, then each type maps to its command (CRLF, comments and blanks tolerated)', () => {
  assert.deepEqual(parseProcfile('web: npm start\r\n# comment\r\n\r\nworker:node w.js --x=1\nrelease: ./migrate: now\n'), {
    web: 'npm start', worker: 'node w.js --x=1', release: './migrate: now',
  });
});

test('when a Procfile is malformed, then the error names the line and the problem', () => {
  assert.throws(() => parseProcfile('web npm start'), /line 1 is not "type: command"/);
  assert.throws(() => parseProcfile('Web Server: x'), /"Web Server" is not a valid process type/);
  assert.throws(() => parseProcfile('web:'), /"web" has no command/);
  assert.throws(() => parseProcfile('web: a\nweb: b'), /line 2: process type "web" is declared twice/);
  assert.throws(() => parseProcfile('web-: a'), /not a valid process type/);
  assert.throws(() => parseProcfile('web: ' + 'x'.repeat(5000)), /longer than 4096/);
  assert.throws(() => parseProcfile('a: b\n'.repeat(20000)), /larger than 64 KB/);
});

test("when a buildpack's bin/release prints YAML, then its default process types are read", () => {
  assert.deepEqual(parseReleaseYaml('---\naddons: []\ndefault_process_types:\n  web: npm start\n  worker: "node w.js"\nconfig_vars:\n  X: y\n'), { web: 'npm start', worker: 'node w.js' });
  assert.deepEqual(parseReleaseYaml('---\ndefault_process_types: {}\n'), {});
});

test('when a push names refs, then only one update of main or master deploys', () => {
  const sha = 'a'.repeat(40);
  const zero = '0'.repeat(40);
  assert.deepEqual(chooseDeploy([{ old: zero, new: sha, ref: 'refs/heads/main' }]), { sha, ref: 'refs/heads/main', old: zero });
  assert.deepEqual(chooseDeploy([{ old: zero, new: sha, ref: 'refs/heads/master' }]), { sha, ref: 'refs/heads/master', old: zero });
  assert.match((chooseDeploy([{ old: zero, new: sha, ref: 'refs/heads/dev' }]) as { refuse: string }).refuse, /branch dev is not supported/);
  assert.match((chooseDeploy([{ old: zero, new: sha, ref: 'refs/tags/v1' }]) as { refuse: string }).refuse, /tag v1/);
  assert.match((chooseDeploy([{ old: sha, new: zero, ref: 'refs/heads/main' }]) as { refuse: string }).refuse, /Deleting/);
  assert.match((chooseDeploy([{ old: zero, new: sha, ref: 'refs/heads/main' }, { old: zero, new: sha, ref: 'refs/heads/master' }]) as { refuse: string }).refuse, /not both/);
  assert.match((chooseDeploy([{ old: zero, new: '--upload-pack=x', ref: 'refs/heads/main' }]) as { refuse: string }).refuse, /Malformed/);
});
