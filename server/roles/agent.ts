import { freemem, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../runner/agent.js';
import { createRunc } from '../../runner/runc.js';
import { createRuncRunner } from '../../runner/runc-runner.js';
import { unpackedSlug } from '../../runner/slug-cache.js';
import { ensureStack } from '../../runner/stack.js';
import type { Platform } from '../compose.js';
import { createEventBus, subscribeEvents } from '../events.js';
import type { Logger } from '../log.js';
import { createAppLogWriter } from '../logs/app-log.js';
import { createAddressService } from '../services/addresses.js';
import { createPgAgentStore } from '../services/dynos.js';

/**
 * The agent role: this host's runner. Registers the host in `agents`, cleans what a previous agent left (dyno
 * containers, netns, addresses, rules, dirs), then keeps the dynos of every app's formation running (runc), reports
 * them to Postgres and writes their output to the apps' log streams. Stopping it stops its dynos.
 */
export async function startAgentRole(p: Platform, log: Logger) {
  const c = p.config;
  const host = hostname();
  const report = () =>
    p.db.query<{ id: string }>(
      `INSERT INTO agents (hostname, address, memory_total, memory_free, last_seen_at, state)
         VALUES ($1, $2, $3, $4, now(), 'up')
       ON CONFLICT (hostname) DO UPDATE SET memory_total = $3, memory_free = $4, last_seen_at = now(), state = 'up', updated_at = now()
       RETURNING id`,
      [host, '127.0.0.1', totalmem(), freemem()],
    );
  const agentId = (await report()).rows[0].id;
  const timer = setInterval(() => report().catch((e: Error) => log.warn('report failed', { error: e.message })), 10_000);
  log.info('registered', { host });
  if (!c.isRoot) {
    log.warn('dynos need root (runc, network namespaces, cgroups): this agent runs none');
    return { async stop() { clearInterval(timer); } };
  }

  const rootfs = await ensureStack(c.stacksDir, 'run', { log: (l) => log.info(l) });
  const runcRoot = join(c.dataDir, 'run', 'runc');
  const bundles = join(c.dataDir, 'run', 'bundles');
  const runc = createRunc({ root: runcRoot, bundles });
  const addresses = createAddressService(p.db, c.subnet);
  const network = { bridge: c.bridge, subnet: c.subnet, nat: c.nat };
  const runner = createRuncRunner({
    runc, runcRoot, bundles, rootfs, network, addresses, port: c.dynoPort, dynosDir: join(c.dataDir, 'run', 'dynos'),
    slugDir: (digest) => unpackedSlug(join(c.dataDir, 'slugs', `${digest}.tar.gz`), digest, join(c.dataDir, 'slug-cache')),
  });
  const events = createEventBus(p.redis, c.redisPrefix);
  const logs = createAppLogWriter(p.redis, c.redisPrefix, { maxLines: c.logLines });
  const agent = createAgent({
    runner, logs, store: createPgAgentStore(p.db, agentId, events),
    bootTimeoutMs: c.bootTimeoutMs, stopGraceMs: c.stopGraceMs, backoffMs: c.crashBackoffMs,
    onError: (what, e) => log.warn(`${what} failed`, { error: e.message }),
  });
  const sub = await subscribeEvents(p.redis, c.redisPrefix, (e) => {
    if (e.kind === 'restart') void agent.restart(e.appId, { type: e.type, name: e.name });
    else if (e.kind === 'release' || e.kind === 'formation' || e.kind === 'app') void agent.kick();
  });
  const { cleaned } = await agent.start();
  if (cleaned.length) log.warn('cleaned up dynos a previous agent left', { dynos: cleaned.length });
  log.info('running dynos', { runner: runner.kind, port: c.dynoPort });
  return {
    async stop() {
      clearInterval(timer);
      sub.close();
      await agent.stop();
      await logs.close();
      await p.db.query(`UPDATE agents SET state = 'down', updated_at = now() WHERE hostname = $1`, [host]).catch(() => undefined);
    },
  };
}
