/**
 * Tenant files read on the host: only regular files reached without any link, bounded, and a FIFO or a device
 * refused at once (it would hold a thread, and the build slot with it, forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readTenantFile, TenantFileError } from '../../buildpacks/tenant-file.js';

const run = promisify(execFile);
const opts = { what: 'Procfile', maxBytes: 1024 };

test('when the file is a regular file, then its text comes back; when it is absent, undefined', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-tf-'));
  try {
    await writeFile(join(dir, 'Procfile'), 'web: ./serve\n');
    assert.equal(await readTenantFile(dir, 'Procfile', opts), 'web: ./serve\n');
    assert.equal(await readTenantFile(dir, 'nothing', opts), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('when the file is a link, a FIFO, a device, a dir, too big, or behind a linked dir, then it is refused by name without being read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-tf-'));
  try {
    const secret = join(dir, 'admin-token');
    await writeFile(secret, 'slw_secret_token_value');
    await symlink(secret, join(dir, 'linked'));
    await symlink('/dev/zero', join(dir, 'zero'));
    await run('mkfifo', [join(dir, 'fifo')]);
    await mkdir(join(dir, 'adir'));
    await writeFile(join(dir, 'big'), 'x'.repeat(2048));
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real', 'Procfile'), 'web: x\n');
    await symlink(join(dir, 'real'), join(dir, 'via'));
    const cases: [string, RegExp][] = [
      ['linked', /symbolic link/], ['zero', /symbolic link/], ['fifo', /not a regular file/], ['adir', /not a regular file/],
      ['big', /larger than 1 KB/], ['via/Procfile', /through a symbolic link/],
    ];
    const t0 = Date.now();
    for (const [name, why] of cases) {
      await assert.rejects(readTenantFile(dir, name, opts), (e: Error) => e instanceof TenantFileError && why.test(e.message) && !e.message.includes('slw_'), name);
    }
    assert.ok(Date.now() - t0 < 2000, 'nothing blocked');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
