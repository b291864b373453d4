import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi } from '../../server/api/create-api.js';
import { createLogger } from '../../server/log.js';
import { createRedis } from '../../server/redis.js';
import { readHealth, startHeartbeat } from '../../server/roles/heartbeat.js';
import { createTestRedisPrefix } from '../helpers/services.js';
import type { Redis } from 'ioredis';

let redis: Redis;
let prefix: string;
let drop: () => Promise<void>;
before(async () => {
  const t = await createTestRedisPrefix();
  prefix = t.prefix;
  drop = t.drop;
  redis = createRedis(t.url);
});
after(async () => {
  redis?.disconnect();
  await drop?.();
});

test('when a role is not beating, then health is not ok and /health answers 503 naming it; when all beat, 200', async () => {
  const unused = undefined as never;
  const api = createApi({ users: unused, apps: unused, collaborators: unused, loginGuard: unused, tokenPolicy: unused, urls: { publicUrl: '', baseDomain: 'localhost', routerPort: 8080 }, log: createLogger('t', 'error'), health: () => readHealth(redis, prefix) });
  const server = createServer(api);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  try {
    const beats = ['api', 'worker', 'router'].map((role) => startHeartbeat(redis, prefix, role));
    await new Promise((r) => setTimeout(r, 100));
    const down = await fetch(url);
    assert.equal(down.status, 503);
    const body = await down.json();
    assert.equal(body.ok, false);
    assert.equal(body.roles.agent.state, 'down');
    assert.equal(body.roles.api.state, 'up');

    beats.push(startHeartbeat(redis, prefix, 'agent'));
    await new Promise((r) => setTimeout(r, 100));
    const up = await fetch(url);
    assert.equal(up.status, 200);
    assert.deepEqual(Object.values((await up.json()).roles).map((r) => (r as { state: string }).state), ['up', 'up', 'up', 'up']);

    await beats[1].stop(); // the worker stops
    assert.equal((await fetch(url)).status, 503);
    for (const b of beats) await b.stop();
  } finally {
    server.close();
  }
});
