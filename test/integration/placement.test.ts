/**
 * Placement on real PostgreSQL: each dyno of a formation is placed on one live agent, an agent's desired dynos are
 * only those placed on it, and dynos move off an agent that went down. Two agents stand for two hosts here (rows
 * in the registry; the agent logic on top is the same as on one host).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPgAgentStore } from '../../server/plane/agent-store.js';
import { HostTaken } from '../../server/plane/agents.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
before(async () => {
  api = await startTestApi();
});
after(async () => api?.close());

const facts = (hostname: string, memoryFree: number) => ({
  hostname, address: `${hostname}.internal`, memoryTotal: 8 * 2 ** 30, memoryFree, pid: process.pid, dataDir: `/srv/${hostname}`, apiUrl: 'http://10.0.0.1:5050',
});

async function appWithFormation(name: string, quantities: Record<string, number>) {
  const s = api.platform.services;
  const admin = (await s.users.findByEmail('admin@example.com'))!;
  const app = await s.apps.create(admin, { name });
  const processTypes = Object.fromEntries(Object.keys(quantities).map((t) => [t, `run-${t}`]));
  const slug = await s.slugs.create(app, { digest: 'a'.repeat(64), size: 1, commit: 'abc1234', processTypes, buildpack: 'test', stack: 'bookworm' });
  await s.releases.create(app, { slugId: slug.id, config: {}, processTypes, description: 'test', userId: null, status: 'succeeded' });
  await s.dynos.updateFormation(app, Object.entries(quantities).map(([type, quantity]) => ({ type, quantity })));
  return app;
}

const names = (ds: { app: string; name: string }[]) => ds.map((d) => `${d.app}/${d.name}`).sort();

test('when two agents are live, then every dyno is placed on exactly one of them, spread evenly, and each runs only its own', async () => {
  const s = api.platform.services;
  const [a, b] = [await s.agents.register(facts('host-a', 4 * 2 ** 30)), await s.agents.register(facts('host-b', 2 * 2 ** 30))];
  await appWithFormation('placed-one', { web: 3, worker: 1 });
  const storeA = createPgAgentStore(api.platform.db, a, undefined);
  const storeB = createPgAgentStore(api.platform.db, b, undefined);
  const [onA, onB] = await Promise.all([storeA.desired(), storeB.desired()]);
  const all = ['placed-one/web.1', 'placed-one/web.2', 'placed-one/web.3', 'placed-one/worker.1'];
  assert.deepEqual([...names(onA), ...names(onB)].sort(), all, 'each dyno once, none left out');
  assert.equal(onA.length, 2, `evenly: ${names(onA)}`);
  assert.equal(onB.length, 2, `evenly: ${names(onB)}`);
  assert.deepEqual(names(await storeA.desired()), names(onA), 'placements are stable from one reconcile to the next');

  // Host B goes down: its dynos move to A. Scaled down: placements beyond the quantity go.
  await s.agents.down(b, process.pid);
  assert.deepEqual(names(await storeA.desired()), all);
  assert.deepEqual(await storeB.desired(), []);
  const app = (await s.apps.get((await s.users.findByEmail('admin@example.com'))!, 'placed-one'))!;
  await s.dynos.updateFormation(app, [{ type: 'web', quantity: 1 }]);
  assert.deepEqual(names(await storeA.desired()), ['placed-one/web.1', 'placed-one/worker.1']);
  const left = await api.platform.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM placements p JOIN apps a ON a.id = p.app_id WHERE a.name = 'placed-one'`);
  assert.equal(left.rows[0].n, 2);
});

test('when an agent registers for a host whose live agent still runs, then it is refused with who holds the host', async () => {
  const s = api.platform.services;
  await s.agents.register(facts('host-c', 1 * 2 ** 30));
  const taken = await s.agents.register({ ...facts('host-c', 1 * 2 ** 30), pid: 1 }).catch((e: Error) => e);
  // pid 1 is not the holder (process.pid is, and it runs): refused, naming the holder.
  assert.ok(taken instanceof HostTaken, String(taken));
  assert.equal(taken.holder.pid, process.pid);
  assert.equal(taken.holder.dataDir, '/srv/host-c');
  // The holder itself may register again (an agent restarting in the same process).
  assert.ok(await s.agents.register(facts('host-c', 1 * 2 ** 30)));
});

test('when a one-off is created, then it is placed on a live agent, and only that agent can start it, once', async () => {
  const s = api.platform.services;
  const d = await s.agents.register(facts('host-d', 16 * 2 ** 30)); // the most free memory: picked
  const e = await s.agents.register(facts('host-e', 1 * 2 ** 30));
  const app = await appWithFormation('placed-run', { web: 1 });
  const picked = (await s.agents.pickForOneOff())!;
  assert.equal(picked.id, d);
  assert.equal(picked.address, 'host-d.internal', 'the address the agent reported, for the attach URL');
  const row = await s.dynos.createOneOff(app, { command: 'bash', attach: false }, { agentId: picked.id });
  const storeD = createPgAgentStore(api.platform.db, d, undefined);
  const storeE = createPgAgentStore(api.platform.db, e, undefined);
  assert.equal(await storeE.claimOneOff(row.id, 'slipway-placed-run-v1-run-1-a1-aaaaaa'), false, 'not placed on E');
  assert.equal(await storeD.claimOneOff(row.id, 'slipway-placed-run-v1-run-1-a1-bbbbbb'), true);
  assert.equal(await storeD.claimOneOff(row.id, 'slipway-placed-run-v1-run-1-a1-cccccc'), false, 'started once');
});
