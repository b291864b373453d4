import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNetrc, writeNetrc } from '../../cli/netrc.js';

test('when a token is stored, then other machines are kept and the file is 0600', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'netrc-')), '.netrc');
  await writeFile(path, 'machine github.com\n  login me\n  password ghp_x\n');
  await writeNetrc(path, '127.0.0.1', { login: 'a@b.c', password: 'slw_1' });
  assert.deepEqual(await readNetrc(path, '127.0.0.1'), { machine: '127.0.0.1', login: 'a@b.c', password: 'slw_1' });
  assert.deepEqual(await readNetrc(path, 'github.com'), { machine: 'github.com', login: 'me', password: 'ghp_x' });
  assert.equal((await stat(path)).mode & 0o777, 0o600);

  await writeNetrc(path, '127.0.0.1', { login: 'a@b.c', password: 'slw_2' });
  assert.equal((await readNetrc(path, '127.0.0.1'))?.password, 'slw_2');
  assert.equal((await readFile(path, 'utf8')).match(/machine 127\.0\.0\.1/g)?.length, 1);

  await writeNetrc(path, '127.0.0.1', undefined);
  assert.equal(await readNetrc(path, '127.0.0.1'), undefined);
  assert.equal((await readNetrc(path, 'github.com'))?.password, 'ghp_x');
});

test('when there is no netrc, then nothing is found', async () => {
  assert.equal(await readNetrc('/nonexistent/.netrc', 'x'), undefined);
});
