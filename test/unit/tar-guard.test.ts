/**
 * The tar guard and unpacking: what a tenant packs reaches `tar -x` only entry by entry after a check, and tar runs
 * as the dyno user, so nothing but files, dirs and links inside the target dir is ever created on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { TarRefused } from '../../runner/archive/tar-guard.js';
import { inspectTar, unpackTar, type UnpackOptions } from '../../runner/archive/unpack.js';
import { pax, tarArchive, type TarEntry } from '../helpers/tar.js';

const run = promisify(execFile);
const SOURCE: UnpackOptions = { policy: 'source', label: 'The upload', maxBytes: 1 << 20 };
const SLUG: UnpackOptions = { policy: 'slug', label: 'The slug', maxBytes: 1 << 20 };

/** The archive's bytes in small pieces, so headers arrive split across chunks as they do from a pipe. */
function pieces(b: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'slipway-tar-'));
}

/** Every path under dir, without following links (readdir's recursive mode follows them into loops). */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(dir, p)));
  }
  return out.sort();
}

async function refusedBy(entries: TarEntry[], o: UnpackOptions, why: RegExp): Promise<void> {
  const dir = await scratch();
  const into = join(dir, 'into');
  await mkdir(into);
  try {
    await assert.rejects(unpackTar(() => pieces(tarArchive(entries)), into, o), (e: Error) => e instanceof TarRefused && why.test(e.message), `refused: ${why}`);
    const made = await walk(into);
    for (const m of made) {
      const s = await lstat(join(into, m));
      assert.ok(s.isFile() || s.isDirectory() || s.isSymbolicLink(), `only files, dirs and links were made (${m})`);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['into'], 'nothing beside the target dir');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('when an archive holds only files, dirs, links inside the tree and long names, then it unpacks whole, as the dyno user', async () => {
  const long = `${'d'.repeat(90)}/${'f'.repeat(90)}.txt`;
  const entries: TarEntry[] = [
    { name: 'pax_global_header', type: 'g', data: pax({ comment: '0123456789abcdef0123456789abcdef01234567' }) },
    { name: 'app/', type: '5' },
    { name: 'app/Procfile', data: 'web: ./serve\n' },
    { name: 'app/serve', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'app/link', type: '2', link: 'Procfile' },
    { name: 'app/hard', type: '1', link: 'app/Procfile' },
    { name: 'PaxHeader', type: 'x', data: pax({ path: `app/${long}` }) },
    { name: 'short-stand-in', data: 'long one' },
    { name: '././@LongLink', type: 'L', data: `app/gnu-${'g'.repeat(120)}\0` },
    { name: 'app/gnu-truncated', data: 'gnu long one' },
  ];
  const dir = await scratch();
  try {
    const seen = await inspectTar(pieces(tarArchive(entries), 13), SOURCE);
    assert.deepEqual([...seen.tops], ['app']);
    assert.equal(seen.nested, true);
    await unpackTar(() => pieces(tarArchive(entries)), dir, { ...SOURCE, strip: 1 });
    assert.equal(await readFile(join(dir, 'Procfile'), 'utf8'), 'web: ./serve\n');
    assert.equal(await readlink(join(dir, 'link')), 'Procfile');
    assert.equal((await lstat(join(dir, 'hard'))).nlink, 2);
    assert.equal(await readFile(join(dir, long), 'utf8'), 'long one');
    assert.equal(await readFile(join(dir, `gnu-${'g'.repeat(120)}`), 'utf8'), 'gnu long one');
    if (process.getuid?.() === 0) assert.equal((await lstat(join(dir, 'Procfile'))).uid, 10000, 'unpacked by the dyno user, not root');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('when an archive holds a FIFO, a device, an absolute path or a path with .., then it is refused before tar sees that entry', async () => {
  const ok: TarEntry = { name: 'ok.txt', data: 'fine' };
  await refusedBy([ok, { name: '.buildpacks', type: '6' }], SOURCE, /FIFO .*"\.buildpacks"/);
  await refusedBy([ok, { name: 'zero', type: '3' }], SLUG, /character device/);
  await refusedBy([ok, { name: '/etc/nologin', data: 'x' }], SLUG, /absolute path/);
  await refusedBy([ok, { name: 'a/../../escape', data: 'x' }], SOURCE, /climbs out/);
  await refusedBy([ok, { name: 'PaxHeader', type: 'x', data: pax({ path: '/etc/nologin' }) }, { name: 'innocent', data: 'x' }], SOURCE, /absolute path/);
  await refusedBy([{ name: 'g', type: 'g', data: pax({ path: 'everything' }) }, ok], SOURCE, /global header/);
  await refusedBy([{ name: 'PaxHeader', type: 'x', data: pax({ 'GNU.sparse.major': '1' }) }, ok], SOURCE, /sparse/);
});

test('when an archive writes through its own symbolic link or links outside the tree, then it is refused (sources) or kept to the tree (slugs)', async () => {
  await refusedBy([{ name: 'l', type: '2', link: 'sub' }, { name: 'l/x', data: 'x' }], SLUG, /inside a symbolic link/);
  await refusedBy([{ name: 'up', type: '2', link: '/' }, { name: 'up/etc/nologin', data: 'x' }], SLUG, /inside a symbolic link/);
  await refusedBy([{ name: 'd/f', data: 'x' }, { name: 'd', type: '2', link: '/etc' }], SLUG, /in place of a directory/);
  await refusedBy([{ name: 'l', type: '2', link: 'a' }, { name: 'l', type: '5' }], SLUG, /twice/);
  await refusedBy([{ name: '.buildpacks', type: '2', link: '/var/lib/slipway/admin-token' }], SOURCE, /absolute path/);
  await refusedBy([{ name: 'a/b', type: '2', link: '../../etc/shadow' }], SOURCE, /leaves the tree/);
  await refusedBy([{ name: 'p', type: '2', link: '.' }, { name: 'q', type: '2', link: 'p/../x' }], SOURCE, /through another link/);
  await refusedBy([{ name: 'h', type: '1', link: '/etc/shadow' }], SLUG, /absolute path/);
  await refusedBy([{ name: 'h', type: '1', link: 'later' }, { name: 'later', data: 'x' }], SLUG, /hard link/);
  // A slug may hold absolute links: they resolve inside the dyno, and tar leaves them unfollowed.
  const dir = await scratch();
  try {
    await unpackTar(() => pieces(tarArchive([{ name: 'python', type: '2', link: '/usr/bin/python3' }, { name: 'ok', data: 'x' }])), dir, SLUG);
    assert.equal(await readlink(join(dir, 'python')), '/usr/bin/python3');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('when an archive lies about sizes, is cut short, has a bad header or unpacks past its limit, then it is refused', async () => {
  const big = 'x'.repeat(2048);
  await refusedBy([{ name: 'a', data: big }, { name: 'b', data: big }], { ...SOURCE, maxBytes: 3000 }, /more than 0 MB/);
  await refusedBy([{ name: 'a', data: 'x' }, { name: 'b', data: 'x' }, { name: 'c', data: 'x' }], { ...SOURCE, maxEntries: 2 }, /more than 2 entries/);
  const whole = tarArchive([{ name: 'a', data: big }]);
  await assert.rejects(inspectTar(Readable.from([whole.subarray(0, 1000)]), SOURCE), /ends inside an entry/);
  const bad = Buffer.from(whole);
  bad[0] = 'b'.charCodeAt(0);
  await assert.rejects(inspectTar(Readable.from([bad]), SOURCE), /not a tar archive/);
  await assert.rejects(inspectTar(Readable.from([Buffer.from('not gzip at all')]), { ...SOURCE, gzip: true }), /header/);
});

test('when GNU tar packs a real tree (long names, links, hard links, an empty dir), then the guard passes it and the unpacked tree is the same', async () => {
  const dir = await scratch();
  try {
    const src = join(dir, 'src');
    await mkdir(join(src, 'node_modules', '.bin'), { recursive: true });
    await mkdir(join(src, 'empty'));
    await writeFile(join(src, 'node_modules', 'tool.js'), 'tool');
    await symlink('../tool.js', join(src, 'node_modules', '.bin', 'tool'));
    await writeFile(join(src, `${'n'.repeat(150)}.js`), 'long');
    await link(join(src, 'node_modules', 'tool.js'), join(src, 'hard.js'));
    await symlink('/usr/bin/python3', join(src, 'python'));
    const { stdout } = await run('tar', ['--sort=name', '-cf', '-', '-C', src, '--', '.'], { encoding: 'buffer', maxBuffer: 1 << 24 });
    const out = join(dir, 'out');
    await mkdir(out);
    await unpackTar(() => pieces(stdout, 1000), out, { ...SLUG, keepModes: true });
    assert.deepEqual(await walk(out), await walk(src));
    assert.equal(await readlink(join(out, 'node_modules', '.bin', 'tool')), '../tool.js');
    await assert.rejects(inspectTar(Readable.from([stdout]), SOURCE), /absolute path/, 'the same tree as an upload: its absolute link is refused');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
