/**
 * One conformance suite for every AgentStore: PostgreSQL (the real one, its desired dynos derived from formation,
 * the current release and placement, changed only through the platform's services) and the in-memory fake (told
 * the outcome the real one derives). Each must give the dynos to run with their command, release and size, change
 * a dyno's generation when it must be replaced, keep and forget what the agent reports (with its stats), forget
 * this agent's reports on reset, and let a one-off be claimed once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPgAgentStore } from '../../server/plane/agent-store.js';
import { MemoryAgentStore } from '../../runner/agent/memory-agent-store.js';
import type { AgentStore, DesiredDyno, DynoReport } from '../../runner/agent/agent-types.js';
import { dynoSize } from '../../platform/sizes.js';
import { startTestApi, type TestApi } from '../helpers/api.js';

interface Reported { name: string; state: string; address: string | null; memoryBytes: number | null }

interface Driver {
  store: AgentStore;
  /** An app with a current release of a slug whose process types are web and worker. */
  addApp(name: string): Promise<{ appId: string; releaseId: string }>;
  scale(appId: string, type: string, quantity: number, size?: string): Promise<void>;
  reported(appId: string): Promise<Reported[]>;
  /** A one-off the control plane placed on this agent; its dyno id. */
  addOneOff(appId: string): Promise<string>;
  close(): Promise<void>;
}

const TYPES = { web: 'node server.js', worker: 'node worker.js' };

async function pgDriver(): Promise<Driver> {
  const api: TestApi = await startTestApi();
  const s = api.platform.services;
  const admin = (await s.users.findByEmail('admin@example.com'))!;
  const agentId = await s.agents.register({ hostname: `agent-store-${Date.now()}`, address: '127.0.0.1', memoryTotal: 1, memoryFree: 1, pid: process.pid, dataDir: '/nonexistent', apiUrl: 'http://127.0.0.1:1' });
  const store = createPgAgentStore(api.platform.db, agentId, undefined);
  const app = async (id: string) => (await s.apps.get(admin, id))!;
  return {
    store,
    async addApp(name) {
      const a = await s.apps.create(admin, { name });
      const slug = await s.slugs.create(a, { digest: 'a'.repeat(64), size: 1, commit: 'c0ffee', processTypes: TYPES, buildpack: 'test', stack: 'bookworm' });
      const r = await s.releases.create(a, { slugId: slug.id, config: { K: 'v' }, processTypes: TYPES, description: 'test', userId: null, status: 'succeeded' });
      return { appId: a.id, releaseId: r.id };
    },
    async scale(appId, type, quantity, size) {
      await s.dynos.updateFormation(await app(appId), [{ type, quantity, ...(size ? { size } : {}) }]);
    },
    async reported(appId) {
      return (await s.dynos.list(await app(appId))).filter((d) => d.type !== 'run' || d.container_id).map((d) => ({
        name: d.name, state: d.state, address: d.address, memoryBytes: d.memory_bytes === null ? null : Number(d.memory_bytes),
      }));
    },
    async addOneOff(appId) {
      return (await s.dynos.createOneOff(await app(appId), { command: 'bash', attach: true }, { agentId })).id;
    },
    close: () => api.close(),
  };
}

/** The fake, told what the real one derives: each formation slot of the current release. */
async function fakeDriver(): Promise<Driver> {
  const store = new MemoryAgentStore();
  const apps = new Map<string, { name: string; releaseId: string; formation: Map<string, { quantity: number; size: string }> }>();
  let n = 0;
  const derive = () => store.setDesired([...apps].flatMap(([appId, a]) => [...a.formation].flatMap(([type, f]) =>
    Array.from({ length: f.quantity }, (_, i): DesiredDyno => ({
      appId, app: a.name, type, name: `${type}.${i + 1}`, command: TYPES[type as keyof typeof TYPES], config: { K: 'v' }, size: dynoSize(f.size)!,
      release: { id: a.releaseId, version: 1, slugDigest: 'a'.repeat(64) }, generation: `${a.releaseId}/${f.size}`,
    })))));
  return {
    store,
    async addApp(name) {
      const appId = `app-${++n}`;
      apps.set(appId, { name, releaseId: `release-${n}`, formation: new Map() });
      return { appId, releaseId: `release-${n}` };
    },
    async scale(appId, type, quantity, size) {
      const f = apps.get(appId)!.formation;
      f.set(type, { quantity, size: size ?? f.get(type)?.size ?? 'standard-1x' });
      derive();
    },
    async reported(appId) {
      return [...store.reports.values()].filter((r) => r.appId === appId).map((r) => ({ name: r.name, state: r.state, address: r.host ?? null, memoryBytes: r.stats?.memoryBytes ?? null }));
    },
    async addOneOff() {
      const id = `one-off-${++n}`;
      store.addOneOff(id);
      return id;
    },
    close: async () => undefined,
  };
}

const report = (appId: string, releaseId: string, over: Partial<DynoReport> & { id: string; name: string }): DynoReport => ({
  appId, releaseId, type: over.name.split('.')[0], command: 'node server.js', size: 'standard-1x', state: 'up', restarts: 0, startedAt: new Date(), ...over,
});

for (const [name, make] of [['PostgreSQL', pgDriver], ['in memory', fakeDriver]] as const) {
  describe(`AgentStore: ${name}`, () => {
    let d: Driver;
    before(async () => { d = await make(); });
    after(async () => d?.close());

    test('when an app is scaled, then each slot of its current release is a dyno to run, with its command, release and size; none at quantity 0', async () => {
      const { appId, releaseId } = await d.addApp('conf-scaled');
      await d.scale(appId, 'web', 2);
      await d.scale(appId, 'worker', 1);
      const mine = (await d.store.desired()).filter((x) => x.appId === appId).sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(mine.map((x) => [x.name, x.type, x.command, x.release.id, x.size.name, x.config.K]), [
        ['web.1', 'web', 'node server.js', releaseId, 'standard-1x', 'v'], ['web.2', 'web', 'node server.js', releaseId, 'standard-1x', 'v'],
        ['worker.1', 'worker', 'node worker.js', releaseId, 'standard-1x', 'v'],
      ]);
      await d.scale(appId, 'worker', 0);
      assert.deepEqual((await d.store.desired()).filter((x) => x.appId === appId).map((x) => x.name).sort(), ['web.1', 'web.2']);
    });

    test('when a dyno\'s size changes, then its generation does (it is replaced); the same formation gives the same generation', async () => {
      const { appId } = await d.addApp('conf-sized');
      await d.scale(appId, 'web', 1);
      const gen = async () => (await d.store.desired()).find((x) => x.appId === appId)!.generation;
      const first = await gen();
      assert.equal(await gen(), first);
      await d.scale(appId, 'web', 1, 'standard-2x');
      assert.notEqual(await gen(), first);
    });

    test('when the agent reports, then what it reported is kept with its stats, a new state replaces the old, and a forgotten dyno is gone', async () => {
      const { appId, releaseId } = await d.addApp('conf-reported');
      await d.store.report(report(appId, releaseId, { id: 'slipway-conf-reported-v1-web-1-a1-1', name: 'web.1', state: 'starting' }));
      await d.store.report(report(appId, releaseId, { id: 'slipway-conf-reported-v1-web-1-a1-1', name: 'web.1', state: 'up', host: '10.213.0.9', port: 5000 }));
      await d.store.stats('slipway-conf-reported-v1-web-1-a1-1', { memoryBytes: 12_345_678, memoryLimitBytes: 536_870_912, cpuSeconds: 1.5, pids: 3 });
      assert.deepEqual(await d.reported(appId), [{ name: 'web.1', state: 'up', address: '10.213.0.9', memoryBytes: 12_345_678 }]);
      await d.store.forget('slipway-conf-reported-v1-web-1-a1-1');
      assert.deepEqual(await d.reported(appId), []);
    });

    test('when the agent starts again (reset), then what it reported before is forgotten', async () => {
      const { appId, releaseId } = await d.addApp('conf-reset');
      await d.store.report(report(appId, releaseId, { id: 'slipway-conf-reset-v1-web-1-a1-1', name: 'web.1' }));
      await d.store.report(report(appId, releaseId, { id: 'slipway-conf-reset-v1-web-2-a1-1', name: 'web.2' }));
      assert.equal((await d.reported(appId)).length, 2);
      await d.store.reset();
      assert.deepEqual(await d.reported(appId), []);
    });

    test('when a one-off placed here is claimed, then the first claim wins and a second, or an unknown one, is refused', async () => {
      const { appId } = await d.addApp('conf-one-off');
      await d.scale(appId, 'web', 1);
      const dynoId = await d.addOneOff(appId);
      assert.equal(await d.store.claimOneOff(dynoId, 'slipway-conf-one-off-v1-run-1-a1-1'), true);
      assert.equal(await d.store.claimOneOff(dynoId, 'slipway-conf-one-off-v1-run-1-a1-2'), false);
      assert.equal(await d.store.claimOneOff('00000000-0000-0000-0000-000000000000', 'slipway-x-v1-run-1-a1-1'), false);
    });
  });
}
