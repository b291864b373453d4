/**
 * The app log writer against the real Redis: batches appended in order across apps and commands, long lines
 * split, the cap, a full queue counted as L10, and a Redis that is away costing lines, not the writer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { appLogKey, createAppLogWriter, tailLog } from '../../server/logs/app-log.js';
import { createTestRedisPrefix } from '../helpers/services.js';

let redis: Redis;
let space: Awaited<ReturnType<typeof createTestRedisPrefix>>;

before(async () => {
  space = await createTestRedisPrefix('applog');
  redis = new Redis(space.url);
});
after(async () => {
  redis.disconnect();
  await space.drop();
});

test('when lines for two apps are written past one command’s batch, then each app’s stream has its own lines, in order, with their fields', async () => {
  const w = createAppLogWriter(redis, space.prefix, { flushMs: 1000 });
  for (let i = 0; i < 1200; i++) w.write(i % 3 === 0 ? 'app-b' : 'app-a', 'app', `web.${(i % 2) + 1}`, `line ${i}`);
  w.write('app-a', 'slipway', 'router', 'at=info method=GET path="/" status=200');
  await w.close();
  const a = await tailLog(redis, space.prefix, 'app-a', 2000);
  const b = await tailLog(redis, space.prefix, 'app-b', 2000);
  assert.equal(a.length, 801);
  assert.equal(b.length, 400);
  assert.deepEqual(b.slice(0, 3).map((e) => e.line), ['line 0', 'line 3', 'line 6']);
  assert.deepEqual(a.slice(0, 2).map((e) => [e.source, e.dyno, e.line]), [['app', 'web.2', 'line 1'], ['app', 'web.1', 'line 2']]);
  const last = a[a.length - 1];
  assert.deepEqual([last.source, last.dyno, last.line], ['slipway', 'router', 'at=info method=GET path="/" status=200']);
  assert.match(last.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  const numbers = a.slice(0, -1).map((e) => Number(e.line.split(' ')[1]));
  assert.deepEqual(numbers, [...numbers].sort((x, y) => x - y), 'order kept across commands');
});

test('when a line is longer than 10 KB, then it is split; when a stream passes its cap, then the oldest lines go', async () => {
  const w = createAppLogWriter(redis, space.prefix, { maxLines: 100 });
  w.write('app-long', 'app', 'web.1', 'x'.repeat(25_000));
  for (let i = 0; i < 1000; i++) w.write('app-capped', 'app', 'web.1', `n${i}`);
  await w.close();
  const long = await tailLog(redis, space.prefix, 'app-long', 10);
  assert.deepEqual(long.map((e) => e.line.length), [10_000, 10_000, 5_000]);
  const kept = await redis.xlen(appLogKey(space.prefix, 'app-capped'));
  assert.ok(kept >= 100 && kept < 300, `about 100 kept (MAXLEN ~), got ${kept}`);
  const tail = await tailLog(redis, space.prefix, 'app-capped', 1);
  assert.equal(tail[0].line, 'n999');
});

test('when the queue is full, then further lines are dropped and counted in one L10 line once it drains', async () => {
  const w = createAppLogWriter(redis, space.prefix, { maxQueued: 10, flushMs: 60_000 });
  for (let i = 0; i < 25; i++) w.write('app-flood', 'app', 'web.1', `f${i}`);
  await w.flush();
  w.write('app-flood', 'app', 'web.1', 'after');
  await w.close();
  const lines = (await tailLog(redis, space.prefix, 'app-flood', 100)).map((e) => e.line);
  assert.deepEqual(lines.slice(0, 10), Array.from({ length: 10 }, (_, i) => `f${i}`));
  assert.deepEqual(lines.slice(10), ['after', 'Error L10 (output buffer overflow) -> 15 log lines dropped']);
});

test('when Redis cannot be reached, then flushing drops the batch without throwing, and the writer goes on', async () => {
  const gone = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  gone.on('error', () => undefined);
  const w = createAppLogWriter(gone, space.prefix);
  w.write('app-x', 'app', 'web.1', 'lost');
  await w.flush();
  w.write('app-x', 'app', 'web.1', 'lost too');
  await w.close();
  gone.disconnect();
  assert.equal(await redis.exists(appLogKey(space.prefix, 'app-x')), 0);
});
