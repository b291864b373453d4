import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan } from '../../server/addons/plans.js';
import { addonSettings } from '../../server/config-parse.js';
import { backupName, parseBackupName } from '../../server/addons/backups.js';
import { localTime } from '../../server/addons/backup-schedule.js';
import { addonHba } from '../../server/addons/host.js';
import { humanBytes } from '../../server/addons/pg-info.js';
import { autoSize } from '../../server/addons/addon-disk.js';
import { createStorageWatch, type StorageWatchDeps } from '../../server/addons/storage-watch.js';
import type { Addon, Attachment } from '../../server/addons/store.js';
import { createLogger } from '../../server/log.js';
import { tmpdir } from 'node:os';

test('when plans are named ours or Heroku\'s way, then each maps to its plan; anything else is a 422 naming the choices', () => {
  assert.deepEqual([parsePlan('postgresql').name, parsePlan('heroku-postgresql').name, parsePlan('heroku-postgresql:mini').name, parsePlan('postgres:standard-0').name],
    ['essential-0', 'essential-0', 'essential-0', 'standard-0']);
  assert.equal(parsePlan('heroku-postgresql:hobby-basic').name, 'essential-1');
  const redis = parsePlan('heroku-redis:premium-0');
  assert.equal(redis.service, 'redis');
  assert.equal(redis.service === 'redis' && redis.memoryBytes, 50 * 1024 * 1024);
  assert.equal(parsePlan('redis').name, 'mini');
  assert.throws(() => parsePlan('mysql'), (e: Error & { status?: number }) => e.status === 422 && /services are postgresql and redis/.test(e.message));
  assert.throws(() => parsePlan('postgresql:huge'), /no plan "huge": its plans are essential-0, essential-1/);
  assert.throws(() => parsePlan('postgresql:a b'), /SERVICE\[:PLAN\]/);
  assert.throws(() => parsePlan(undefined), /SERVICE\[:PLAN\]/);
});

test('when add-on settings are read, then the defaults are embedded servers, an operator URL is taken, and a bad value is named without echoing it', () => {
  assert.deepEqual(addonSettings({}), { postgres: 'embedded', postgresPort: 15432, redis: 'embedded', redisPorts: [16380, 16999], watchMs: 60_000, diskReserveBytes: 64 * 2 ** 20, diskSize: 'auto' });
  assert.equal(addonSettings({ SLIPWAY_ADDON_WATCH_INTERVAL: '0.5' }).watchMs, 500);
  assert.deepEqual(['auto', '0', '320'].map((v) => addonSettings({ SLIPWAY_ADDON_DISK_MB: v }).diskSize), ['auto', 0, 320 * 2 ** 20]);
  assert.throws(() => addonSettings({ SLIPWAY_ADDON_DISK_MB: '12' }), /SLIPWAY_ADDON_DISK_MB must be auto, 0 \(off\) or a size in MB of at least 64, got "12"/);
  assert.deepEqual([0, 2 * 2 ** 30, 40 * 2 ** 30, 1000 * 2 ** 30].map(autoSize), [2 ** 30, 2 ** 30, 10 * 2 ** 30, 100 * 2 ** 30], 'a quarter of the free disk, 1 to 100 GB');
  assert.throws(() => addonSettings({ SLIPWAY_ADDON_DISK_RESERVE_MB: '-1' }), /SLIPWAY_ADDON_DISK_RESERVE_MB must be a positive whole number/);
  assert.deepEqual(addonSettings({ SLIPWAY_ADDON_POSTGRES: 'postgres://admin:pw@db.example:5432/postgres' }).postgres, { adminUrl: 'postgres://admin:pw@db.example:5432/postgres' });
  assert.throws(() => addonSettings({ SLIPWAY_ADDON_POSTGRES: 'mysql://admin:secret@x' }), (e: Error) => !e.message.includes('secret') && /embedded, off, or a postgres:\/\/ URL/.test(e.message));
  assert.throws(() => addonSettings({ SLIPWAY_ADDON_REDIS_PORTS: '500-600' }), /above 1023/);
  assert.throws(() => addonSettings({ SLIPWAY_ADDON_REDIS_PORTS: '17000-16000' }), /FIRST-LAST/);
});

test('when backups are named, then they read as Heroku\'s (b001, a002 scheduled, r003 restores) both ways', () => {
  assert.equal(backupName({ kind: 'backup', scheduled: false, num: 1 }), 'b001');
  assert.equal(backupName({ kind: 'backup', scheduled: true, num: 2 }), 'a002');
  assert.equal(backupName({ kind: 'restore', scheduled: false, num: 13 }), 'r013');
  assert.deepEqual(['b001', 'a002', 'r1000', '7', 'x1', 'b'].map(parseBackupName), [1, 2, 1000, 7, undefined, undefined]);
});

test('when a schedule\'s time zone is not UTC, then its local day and minute are the zone\'s', () => {
  const at = new Date('2026-03-01T23:30:00Z');
  assert.deepEqual(localTime(at, 'UTC'), { day: '2026-03-01', minutes: 23 * 60 + 30 });
  assert.deepEqual(localTime(at, 'Europe/Paris'), { day: '2026-03-02', minutes: 30 });
  assert.deepEqual(localTime(at, 'America/Chicago'), { day: '2026-03-01', minutes: 17 * 60 + 30 });
});

test('when the add-on server\'s pg_hba is written, then the platform logs in by socket only, and a role (from the dyno network, or the platform’s tools over the socket) only into its own database by password', () => {
  assert.equal(addonHba('10.213.0.0/16'), 'local all slipway trust\nlocal sameuser all scram-sha-256\nhost sameuser all 10.213.0.0/16 scram-sha-256\n');
  assert.deepEqual([humanBytes(512), humanBytes(7.5 * 1024 * 1024), humanBytes(1024 ** 3)], ['512 bytes', '7.5 MB', '1.0 GB']);
});

test('when a database goes over its plan\'s storage or the server\'s disk fills, then it is made read-only and each attached app\'s log is told once, and again when it is over', async () => {
  // A fake add-on server whose database size the test sets (the real one would need a gigabyte written); the
  // disk is this machine's temp dir, "full" as the reserve is set above or below what it has free.
  let size = 10 * 2 ** 20;
  let readOnly = false;
  let failSet = false;
  const turns: boolean[] = [];
  const addon = { id: 'a1', name: 'postgresql-tidy-12345', plan: 'essential-0', resource: 'd1', service: 'postgresql' } as Addon;
  const attached = [{ app_id: 'app-1', name: 'DATABASE' }, { app_id: 'app-2', name: 'SHARED' }] as Attachment[];
  const lines: string[] = [];
  const disks: boolean[] = [];
  const logged: string[] = [];
  const deps: StorageWatchDeps = {
    store: { postgresOn: async () => [addon], attachmentsOfAddon: async () => attached, setServerDisk: async (_s, d) => void disks.push(d.full) },
    server: {
      host: '10.213.0.1', port: 15432,
      usage: async () => ({ sizeBytes: size, connections: 1, serverVersion: '15', readOnly }),
      setReadOnly: async (_r, on) => {
        if (failSet) throw new Error('lock timeout');
        readOnly = on;
        turns.push(on);
      },
    },
    dataDir: tmpdir(), reserveBytes: 1, logs: { write: (app, source, dyno, line) => void lines.push(`${app} ${source}[${dyno}]: ${line}`) },
    log: createLogger('test', 'error', (l) => void logged.push(l)),
  };
  const watch = createStorageWatch(deps);
  await watch.check();
  assert.deepEqual(lines, [], 'under its plan, a disk with room: nothing to say');
  size = 2 * 1024 ** 3;
  failSet = true;
  await watch.check();
  assert.deepEqual(lines, [], 'not made read-only (the server refused): nothing said, tried again next round');
  failSet = false;
  await watch.check();
  await watch.check();
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /^app-1 app\[heroku-postgres\]: source=DATABASE addon=postgresql-tidy-12345 sample#db_size=2147483648bytes Error: the database uses 2\.0 GB, over its plan's 1\.0 GB of storage \(essential-0\): it is read-only \(SELECT, DELETE and TRUNCATE only\) until it is back under: upgrade the plan or delete data$/);
  assert.match(lines[1], /^app-2 app\[heroku-postgres\]: source=SHARED /);
  size = 1024;
  await watch.check();
  assert.match(lines[2], /source=DATABASE .* the database is within its plan's 1\.0 GB of storage again: writes work again$/);
  assert.equal(lines.length, 4);
  assert.deepEqual(turns, [true, false], 'read-only once over, writable once back under');
  deps.reserveBytes = Number.MAX_SAFE_INTEGER;
  await watch.check();
  await watch.check();
  assert.equal(lines.length, 6);
  assert.match(lines[4], /^app-1 app\[heroku-postgres\]: source=DATABASE addon=postgresql-tidy-12345 Error: the add-on server's disk is full \(.* free of .*\): writes to this database fail until space is freed$/);
  deps.reserveBytes = 1;
  await watch.check();
  assert.match(lines[6], /the add-on server's disk has space again \(.* free\): writes work again$/);
  assert.deepEqual(disks, [false, false, false, false, false, true, true, false], 'each check recorded the disk for pg:info');
  assert.equal(logged.length, 1, 'the platform\'s log has the disk filling up as an error');
});
