/**
 * Draining confirmed, not timed (real Redis): a dyno has left the routers once every router worker alive has
 * acknowledged the app's route generation of its removal; a router that stopped beating is not waited for; and the
 * route sync acknowledges what it loaded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryRouteTable } from '../../router/routes.js';
import { createLogger } from '../../server/log.js';
import { createRouteAcks } from '../../server/plane/route-acks.js';
import { MemoryRouteSource } from '../../server/plane/route-source.js';
import { startRouteSync } from '../../server/plane/route-sync.js';
import { createTestRedisPrefix, SERVER_REDIS_URL } from '../helpers/services.js';

let redis: Redis;
let prefix: { prefix: string; drop(): Promise<void> };
before(async () => {
  prefix = await createTestRedisPrefix();
  redis = new Redis(SERVER_REDIS_URL);
});
after(async () => {
  redis?.disconnect();
  await prefix?.drop();
});

test('when a dyno leaves the routes, then dropped() waits for every live router to acknowledge, not for one that stopped beating', async () => {
  const acks = createRouteAcks(redis, prefix.prefix);
  await acks.alive('router-a');
  await acks.alive('router-b');
  await redis.hset(`${prefix.prefix}:routers`, 'router-dead', Date.now() - 60_000); // stopped beating a minute ago
  const gen = await acks.bump('app-1');
  await acks.applied('router-a', new Map([['app-1', gen]]));
  let done = false;
  const t0 = Date.now();
  const waiting = acks.dropped('app-1').then((ok) => ((done = true), ok));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(done, false, 'router-b has not acknowledged yet');
  await acks.applied('router-b', new Map([['app-1', gen - 1]]));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false, 'an older generation does not count');
  await acks.applied('router-b', new Map([['app-1', gen]]));
  assert.equal(await waiting, true);
  assert.ok(Date.now() - t0 >= 300);
  assert.equal(await acks.dropped('app-2', 200), true, 'nothing to wait for: every live router is at generation 0');
  await acks.bump('app-2');
  assert.equal(await acks.dropped('app-2', 300), false, 'a router that never acknowledges is waited for up to the timeout');
});

test('when the route sync loads an app, then it acknowledges the generation read before the load, and beats', async () => {
  const source = new MemoryRouteSource();
  const table = new MemoryRouteTable();
  source.set('a1', { route: { appId: 'a1', app: 'one', maintenance: false, endpoints: [] }, hostnames: ['one.localhost'] });
  const sync = await startRouteSync(source, table, createLogger('t', 'error'));
  try {
    assert.equal(source.acked.get('a1'), 1, 'the full load acknowledged');
    assert.ok(source.beats >= 1);
    source.set('a1', { route: { appId: 'a1', app: 'one', maintenance: true, endpoints: [] }, hostnames: ['one.localhost'] });
    for (let i = 0; i < 50 && source.acked.get('a1') !== 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(source.acked.get('a1'), 2);
    assert.equal(table.lookup('one.localhost')?.maintenance, true);
  } finally {
    sync.close();
  }
});
