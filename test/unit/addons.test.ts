import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan } from '../../server/addons/plans.js';
import { addonSettings } from '../../server/config-parse.js';
import { backupName, parseBackupName } from '../../server/addons/backups.js';
import { localTime } from '../../server/addons/backup-schedule.js';
import { addonHba } from '../../server/addons/host.js';
import { humanBytes } from '../../server/addons/pg-info.js';

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
  assert.deepEqual(addonSettings({}), { postgres: 'embedded', postgresPort: 15432, redis: 'embedded', redisPorts: [16380, 16999] });
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

test('when the add-on server\'s pg_hba is written, then the platform logs in by socket only and a role from the dyno network only into its own database', () => {
  assert.equal(addonHba('10.213.0.0/16'), 'local all slipway trust\nhost sameuser all 10.213.0.0/16 scram-sha-256\n');
  assert.deepEqual([humanBytes(512), humanBytes(7.5 * 1024 * 1024), humanBytes(1024 ** 3)], ['512 bytes', '7.5 MB', '1.0 GB']);
});
