/**
 * One conformance suite for every RouteSource: PostgreSQL with Redis pub/sub (the real one, driven through the
 * platform's own services) and the in-memory fake. Each must give an app's hostnames and its routable web dynos,
 * its maintenance flag and a crashed flag, tell of each change by app id, and forget a destroyed app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRouteSource, createPgRouteSource, type AppRoutes, type RouteSource } from '../../server/plane/route-source.js';
import { createPgAgentStore } from '../../server/plane/agent-store.js';
import { mintContainerName } from '../../platform/container-name.js';
import { createEventBus } from '../../server/events.js';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { waitFor } from '../helpers/procs.js';

/** older: a release before the current one; newer: one being deployed (not current yet). Default: current. */
type DynoFact = { name: string; state: 'starting' | 'up' | 'crashed'; host?: string; port?: number; type?: string; release?: 'older' | 'current' | 'newer' };
const VERSION = { older: 1, current: 2, newer: 3 } as const;

interface Driver {
  source: RouteSource;
  addApp(name: string, extraHostnames?: string[]): Promise<string>;
  setDynos(appId: string, dynos: DynoFact[]): Promise<void>;
  setMaintenance(appId: string, on: boolean): Promise<void>;
  removeApp(appId: string): Promise<void>;
  close(): Promise<void>;
}

/** The real one, changed only through the platform's services (as the API and the agent change it). */
async function pgDriver(): Promise<Driver> {
  const api: TestApi = await startTestApi();
  const s = api.platform.services;
  const admin = (await s.users.findByEmail('admin@example.com'))!;
  const agentId = await s.agents.register({ hostname: `conformance-${Date.now()}`, address: '127.0.0.1', memoryTotal: 1, memoryFree: 1, pid: process.pid, dataDir: '/nonexistent', apiUrl: 'http://127.0.0.1:1' });
  const store = createPgAgentStore(api.platform.db, agentId, createEventBus(api.platform.redis, api.platform.config.redisPrefix));
  const apps = new Map<string, { name: string; releases: Record<keyof typeof VERSION, string>; dynos: string[] }>();
  return {
    source: createPgRouteSource(api.platform),
    async addApp(name, extra = []) {
      const app = await s.apps.create(admin, { name });
      for (const h of extra) await s.domains.add(app, h as never);
      const make = (status: 'succeeded' | 'pending') => s.releases.create(app, { slugId: null, config: {}, processTypes: { web: 'serve' }, description: status, userId: null, status });
      const releases = { older: (await make('succeeded')).id, current: (await make('succeeded')).id, newer: (await make('pending')).id };
      apps.set(app.id, { name, releases, dynos: [] });
      return app.id;
    },
    async setDynos(appId, dynos) {
      const a = apps.get(appId)!;
      for (const id of a.dynos) await store.forget(id);
      a.dynos = [];
      for (const d of dynos) {
        const id = mintContainerName({ app: a.name, release: { version: 1 }, process: d.type ?? 'web', index: Number(d.name.split('.')[1]) }, 'agent');
        a.dynos.push(id);
        await store.report({
          id, appId, name: d.name, type: d.type ?? 'web', releaseId: a.releases[d.release ?? 'current'], command: 'serve', size: 'standard-1x', state: d.state,
          host: d.host, port: d.port, restarts: 0, startedAt: new Date(),
        });
      }
    },
    async setMaintenance(appId, on) {
      const app = (await s.apps.get(admin, appId))!;
      await s.apps.update(admin, app, { maintenance: on });
    },
    async removeApp(appId) {
      await s.apps.destroy(admin, (await s.apps.get(admin, appId))!);
    },
    close: () => api.close(),
  };
}

/** The fake, told the outcome the real one derives (what a test using the fake would set). */
async function fakeDriver(): Promise<Driver> {
  const source = new MemoryRouteSource();
  const apps = new Map<string, AppRoutes>();
  let n = 0;
  const put = (id: string) => source.set(id, apps.get(id));
  return {
    source,
    async addApp(name, extra = []) {
      const id = `fake-${++n}`;
      apps.set(id, { route: { appId: id, app: name, maintenance: false, endpoints: [], crashed: false }, hostnames: [`${name}.localhost`, ...extra] });
      put(id);
      return id;
    },
    async setDynos(appId, dynos) {
      const a = apps.get(appId)!;
      const web = dynos.filter((d) => (d.type ?? 'web') === 'web').sort((x, y) => x.name.localeCompare(y.name));
      const version = (d: DynoFact) => VERSION[d.release ?? 'current'];
      const up = web.filter((d) => d.state === 'up' && d.host && d.port && version(d) <= VERSION.current);
      const newest = Math.max(-1, ...up.map(version));
      a.route.endpoints = up.filter((d) => version(d) === newest).map((d) => ({ host: d.host!, port: d.port!, dyno: d.name }));
      a.route.crashed = a.route.endpoints.length === 0 && web.some((d) => d.state === 'crashed' && version(d) === VERSION.current);
      put(appId);
    },
    async setMaintenance(appId, on) {
      apps.get(appId)!.route.maintenance = on;
      put(appId);
    },
    async removeApp(appId) {
      apps.delete(appId);
      put(appId);
    },
    async close() {},
  };
}

for (const [kind, make] of [['PostgreSQL', pgDriver], ['in-memory fake', fakeDriver]] as const) {
  describe(`RouteSource: ${kind}`, () => {
    let d: Driver;
    let changed: string[];
    let sub: { close(): void };
    before(async () => {
      d = await make();
      changed = [];
      sub = await d.source.onChange((id) => changed.push(id));
    });
    after(async () => {
      sub?.close();
      await d?.close();
    });
    const told = (appId: string) => waitFor(`a change of ${appId} told`, () => changed.includes(appId) || undefined, 3000, 10).then(() => void (changed = []));

    test('when an app has hostnames and web dynos, then its routes hold the hostnames and only its up web dynos, in name order', async () => {
      const id = await d.addApp('conf-one', ['www.conf-one.example']);
      await d.setDynos(id, [
        { name: 'web.2', state: 'up', host: '10.213.0.12', port: 5000 },
        { name: 'web.1', state: 'up', host: '10.213.0.11', port: 5000 },
        { name: 'web.3', state: 'starting', host: '10.213.0.13', port: 5000 },
        { name: 'worker.1', state: 'up', host: '10.213.0.14', port: 5000, type: 'worker' },
      ]);
      await told(id);
      const one = await d.source.loadApp(id);
      assert.ok(one);
      assert.deepEqual(one.hostnames.sort(), ['conf-one.localhost', 'www.conf-one.example']);
      assert.equal(one.route.app, 'conf-one');
      assert.deepEqual(one.route.endpoints, [{ host: '10.213.0.11', port: 5000, dyno: 'web.1' }, { host: '10.213.0.12', port: 5000, dyno: 'web.2' }]);
      assert.equal(one.route.crashed, false);
      assert.ok((await d.source.loadAll()).some((a) => a.route.appId === id));
    });

    test('when its web dynos have crashed, then it has no endpoints and is marked crashed; maintenance shows and is told', async () => {
      const id = await d.addApp('conf-two');
      await d.setDynos(id, [{ name: 'web.1', state: 'crashed' }]);
      await told(id);
      const one = (await d.source.loadApp(id))!;
      assert.deepEqual(one.route.endpoints, []);
      assert.equal(one.route.crashed, true);
      await d.setMaintenance(id, true);
      await told(id);
      assert.equal((await d.source.loadApp(id))!.route.maintenance, true);
    });

    test('when an app is destroyed, then the change is told and it is gone from loadApp and loadAll', async () => {
      const id = await d.addApp('conf-three');
      await d.removeApp(id);
      await told(id);
      assert.equal(await d.source.loadApp(id), undefined);
      assert.ok(!(await d.source.loadAll()).some((a) => a.route.appId === id));
    });

    test('when a newer release is being verified, then only the current release\'s dynos take requests; with none of those up, the older release\'s do', async () => {
      const id = await d.addApp('conf-five');
      await d.setDynos(id, [
        { name: 'web.1', state: 'up', host: '10.213.0.21', port: 5000, release: 'older' },
        { name: 'web.1', state: 'up', host: '10.213.0.22', port: 5000, release: 'current' },
        { name: 'web.1', state: 'up', host: '10.213.0.23', port: 5000, release: 'newer' },
      ]);
      await told(id);
      assert.deepEqual((await d.source.loadApp(id))!.route.endpoints.map((e) => e.host), ['10.213.0.22']);
      await d.setDynos(id, [
        { name: 'web.1', state: 'up', host: '10.213.0.21', port: 5000, release: 'older' },
        { name: 'web.1', state: 'starting', host: '10.213.0.22', port: 5000, release: 'current' },
        { name: 'web.1', state: 'up', host: '10.213.0.23', port: 5000, release: 'newer' },
      ]);
      await told(id);
      assert.deepEqual((await d.source.loadApp(id))!.route.endpoints.map((e) => e.host), ['10.213.0.21'], 'the older release serves while the current one starts');
      await d.setDynos(id, [{ name: 'web.1', state: 'up', host: '10.213.0.23', port: 5000, release: 'newer' }]);
      await told(id);
      assert.deepEqual((await d.source.loadApp(id))!.route.endpoints, [], 'a release being verified takes no requests');
    });

    test('when what it returned is changed by the caller, then the source is not', async () => {
      const id = await d.addApp('conf-four');
      const one = (await d.source.loadApp(id))!;
      one.hostnames.push('mutated.example');
      one.route.endpoints.push({ host: '1.2.3.4', port: 1, dyno: 'web.9' });
      const again = (await d.source.loadApp(id))!;
      assert.ok(!again.hostnames.includes('mutated.example'));
      assert.deepEqual(again.route.endpoints, []);
    });
  });
}
