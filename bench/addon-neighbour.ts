/**
 * bench/addon-neighbour: what one hostile tenant of the add-on servers costs its neighbour. Two apps, each with a
 * PostgreSQL and a Redis add-on on the embedded add-on servers; the neighbour probes for PROBE_MS at a time —
 * PING on its Redis, and connect + SELECT 1 + close on its PostgreSQL (a new connection each time: what waits when
 * connections are short) — while the tenant does nothing (the baseline), spins a Lua script (EVAL "while true do
 * end"), holds every connection its plans allow (20 and 20), and fills its plans (Redis: SETs of 64 KiB until
 * maxmemory refuses them; PostgreSQL: INSERTs of 1 MB rows as fast as it can). Prints p50, p95 and the slowest in
 * ms, and p95 against the baseline's. Writes bench/results/addon-neighbour-DATE.json. Never pass/fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PACKAGE_ROOT } from '../server/paths.js';
import { startTestPlatform, type TestPlatform } from '../test/helpers/platform.js';

const PROBE_MS = 3000;

interface Side { pgUrl: string; redisSocket: string; redisPassword: string }
type Figures = { p50_ms: number; p95_ms: number; max_ms: number; n: number };

async function side(t: TestPlatform, app: string): Promise<Side> {
  await t.createApp(app);
  for (const plan of ['postgresql', 'heroku-redis:mini']) {
    const made = await t.api('POST', `/apps/${app}/addons`, { plan });
    if (made.status !== 201) throw new Error(`addons:create ${plan}: ${JSON.stringify(made.body)}`);
  }
  const vars = (await t.api('GET', `/apps/${app}/config-vars`)).body as Record<string, string>;
  const db = new URL(vars.DATABASE_URL);
  const redis = new URL(vars.REDIS_URL);
  const resource = ((await t.api('GET', `/apps/${app}/addons`)).body as { provider_id: string; addon_service: { name: string } }[])
    .find((a) => a.addon_service.name === 'heroku-redis')!.provider_id;
  return {
    pgUrl: t.platform.services.addons.servers.postgres!.tenantUrl(db.username, db.password),
    redisSocket: join(t.dataDir, 'addons', 'redis', resource, 'redis.sock'), redisPassword: decodeURIComponent(redis.password),
  };
}

const redisOf = (s: Side) => {
  const r = new Redis({ path: s.redisSocket, password: s.redisPassword, maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: true });
  r.on('error', () => undefined);
  return r;
};

function figures(ms: number[]): Figures {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Number(s[Math.min(s.length - 1, Math.floor(s.length * q))]!.toFixed(2));
  return { p50_ms: at(0.5), p95_ms: at(0.95), max_ms: Number(s[s.length - 1]!.toFixed(2)), n: s.length };
}

/** The neighbour's probes for PROBE_MS: its Redis PINGs and its PostgreSQL connect + SELECT 1. */
async function probe(n: Side): Promise<{ redis: Figures; postgres: Figures }> {
  const r = redisOf(n);
  await r.connect();
  const pings: number[] = [];
  const connects: number[] = [];
  const until = Date.now() + PROBE_MS;
  await Promise.all([
    (async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        await r.ping();
        pings.push(performance.now() - t0);
        await new Promise((res) => setTimeout(res, 20));
      }
    })(),
    (async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const c = new pg.Client({ connectionString: n.pgUrl });
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        connects.push(performance.now() - t0);
        await new Promise((res) => setTimeout(res, 20));
      }
    })(),
  ]);
  r.disconnect();
  return { redis: figures(pings), postgres: figures(connects) };
}

/** The tenant's attacks, each started, then stopped once the neighbour's probes are done. */
const attacks: Record<string, (x: Side) => Promise<() => Promise<void>>> = {
  'spins a Lua script': async (x) => {
    const r = redisOf(x);
    await r.connect();
    const spin = r.eval('while true do end', 0).catch(() => undefined);
    await new Promise((res) => setTimeout(res, 300));
    return async () => { await spin; r.disconnect(); };
  },
  'holds every connection': async (x) => {
    const held: { end(): unknown }[] = [];
    let [pgHeld, redisHeld] = [0, 0];
    for (let i = 0; i < 25; i++) {
      const c = new pg.Client({ connectionString: x.pgUrl });
      c.on('error', () => undefined);
      if (await c.connect().then(() => true, () => false)) held.push(c) && pgHeld++;
      const r = new Redis({ path: x.redisSocket, password: x.redisPassword, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      if (await r.connect().then(() => r.ping()).then(() => true, () => false)) held.push({ end: () => r.disconnect() }) && redisHeld++;
    }
    console.log(`  (the tenant holds ${pgHeld} PostgreSQL and ${redisHeld} Redis connections; more were refused)`);
    return async () => { for (const c of held) await c.end(); };
  },
  'fills its plans': async (x) => {
    let on = true;
    const r = redisOf(x);
    await r.connect();
    const value = 'x'.repeat(64 * 1024);
    let keys = 0;
    let refused = 0;
    let rows = 0;
    const redisFill = (async () => {
      for (let i = 0; on; i++) {
        if (await r.set(`fill:${i}`, value).then(() => true, () => false)) keys++;
        else if (++refused) await new Promise((res) => setTimeout(res, 10)); // maxmemory: OOM, as the plan says
      }
    })();
    const c = new pg.Client({ connectionString: x.pgUrl });
    await c.connect();
    await c.query('CREATE TABLE IF NOT EXISTS fill (b text)');
    const pgFill = (async () => {
      while (on) await c.query(`INSERT INTO fill SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 32768)`).then(() => rows++);
    })();
    await new Promise((res) => setTimeout(res, 300));
    return async () => {
      on = false;
      await Promise.all([redisFill, pgFill]);
      console.log(`  (the tenant wrote ${rows} MB to its PostgreSQL, ${keys} keys of 64 KiB to its Redis, then had ${refused} SETs refused at maxmemory)`);
      await r.flushall().catch(() => undefined);
      r.disconnect();
      await c.query('DROP TABLE fill').catch(() => undefined);
      await c.end();
    };
  },
};

export async function benchAddonNeighbour(): Promise<void> {
  const t = await startTestPlatform({}, { addons: true });
  const rows: { tenant: string; redis: Figures; postgres: Figures; redis_p95_ratio: number; postgres_p95_ratio: number }[] = [];
  try {
    const tenant = await side(t, 'bench-tenant');
    const neighbour = await side(t, 'bench-neighbour');
    const base = await probe(neighbour);
    const row = (name: string, f: { redis: Figures; postgres: Figures }) => {
      const out = { tenant: name, ...f, redis_p95_ratio: Number((f.redis.p95_ms / base.redis.p95_ms).toFixed(2)), postgres_p95_ratio: Number((f.postgres.p95_ms / base.postgres.p95_ms).toFixed(2)) };
      rows.push(out);
      const fmt = (x: Figures) => `${x.p50_ms.toFixed(2).padStart(6)} ${x.p95_ms.toFixed(2).padStart(7)} ${x.max_ms.toFixed(1).padStart(7)}`;
      console.log(`${name.padEnd(24)} Redis PING ${fmt(f.redis)} (p95 ×${out.redis_p95_ratio})   PostgreSQL connect+query ${fmt(f.postgres)} (p95 ×${out.postgres_p95_ratio})`);
    };
    console.log(`${''.padEnd(24)}            p50     p95     max ms                         p50     p95     max ms`);
    row('does nothing', base);
    for (const [name, attack] of Object.entries(attacks)) {
      const stop = await attack(tenant);
      const f = await probe(neighbour);
      await stop();
      row(name, f);
    }
  } finally {
    await t.close();
  }
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
  await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  const out = join(PACKAGE_ROOT, 'bench', 'results', `addon-neighbour-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  await writeFile(out, JSON.stringify({ benchmark: 'a neighbour of one hostile tenant on the add-on servers', probe_ms: PROBE_MS, machine, rows }, null, 2) + '\n');
  console.log(`written to ${out}`);
}
