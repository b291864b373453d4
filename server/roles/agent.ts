import { freemem, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../runner/agent/agent.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { createRuncRunner } from '../../runner/sandbox/runc-runner.js';
import { createSlugLowers, layerCacheDir, slugCacheDir } from '../images/slug-lowers.js';
import { ensureStack } from '../../runner/sandbox/stack.js';
import type { Platform } from '../compose.js';
import { createEventBus, subscribeEvents } from '../events.js';
import type { Logger } from '../log.js';
import { createAppLogWriter } from '../logs/app-log.js';
import { createAddressService } from '../services/addresses.js';
import { createPgAgentStore, loadOneOffDyno } from '../plane/agent-store.js';
import { startRendezvous } from './rendezvous.js';
import { createTidier } from './agent-tidy.js';
import { HostTaken, hostTakenMessage } from '../plane/agents.js';
import { createRouteAcks } from '../plane/route-acks.js';

/**
 * The agent role: this host's runner. Registers the host in `agents`, cleans what a previous agent left (dyno
 * containers, netns, addresses, rules, dirs), then keeps the dynos of every app's formation running (runc), reports
 * them to Postgres and writes their output to the apps' log streams. Stopping it stops its dynos.
 */
export async function startAgentRole(p: Platform, log: Logger) {
  const c = p.config;
  const host = hostname();
  const agents = p.services.agents;
  const facts = () => ({
    hostname: host, address: c.agentAddress, memoryTotal: totalmem(), memoryFree: freemem(), pid: process.pid, dataDir: c.dataDir, apiUrl: c.publicUrl,
  });
  const agentId = await agents.register(facts()).catch((e: Error) => {
    throw e instanceof HostTaken ? new Error(hostTakenMessage(e.holder)) : e;
  });
  const timer = setInterval(() => agents.heartbeat(agentId, facts()).catch((e: Error) => log.warn('report failed', { error: e.message })), 10_000);
  log.info('registered', { host, address: c.agentAddress });
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
    runc, runcRoot, bundles, rootfs, network, addresses, port: c.dynoPort, dynosDir: join(c.dataDir, 'run', 'dynos'), diskReserveBytes: c.quotas.diskReserveBytes,
    slugLowers: createSlugLowers({ dataDir: c.dataDir, layersOf: (digest) => p.services.slugs.layersOf(digest) }),
  });
  const events = createEventBus(p.redis, c.redisPrefix);
  const logs = createAppLogWriter(p.redis, c.redisPrefix, { maxLines: c.logLines });
  const acks = createRouteAcks(p.redis, c.redisPrefix);
  const agent = createAgent({
    runner, logs, store: createPgAgentStore(p.db, agentId, events),
    routesDropped: async (appId) => {
      if (!(await acks.dropped(appId))) log.warn('a router did not confirm it dropped a stopping dyno within 10 s; stopping it anyway', { app: appId });
    },
    bootTimeoutMs: c.bootTimeoutMs, stopGraceMs: c.stopGraceMs, backoffMs: c.crashBackoffMs, oneOffMaxAgeMs: c.quotas.oneOffMaxAgeMs,
    onError: (what, e) => log.warn(`${what} failed`, { error: e.message }),
  });
  const tidier = createTidier({
    db: p.db, redis: p.redis, redisPrefix: c.redisPrefix, slugCacheDir: slugCacheDir(c.dataDir), layerCacheDir: layerCacheDir(c.dataDir), logs,
    inUse: () => agent.inUse(), log: log.child('tidy'),
  });
  const tidyTimer = setInterval(() => void tidier.tidy(), 5_000);
  const startDetached = async (dynoId: string) => {
    const d = await loadOneOffDyno(p.db, agentId, dynoId, (await p.services.oneOffs.load(dynoId)).env);
    if (d) await agent.runOneOff(d);
  };
  const sub = await subscribeEvents(p.redis, c.redisPrefix, (e) => {
    if (e.kind === 'run') void startDetached(e.dynoId).catch((err: Error) => log.warn('one-off failed', { error: err.message }));
    else if (e.kind === 'restart') void agent.restart(e.appId, { type: e.type, name: e.name });
    else if (e.kind === 'stop') void agent.stopDynos(e.appId, { type: e.type, name: e.name });
    else if (e.kind === 'release' || e.kind === 'formation' || e.kind === 'app') void agent.kick();
  });
  // The rendezvous port first: if it is taken, the role fails before any dyno starts (not with dynos orphaned).
  const rendezvous = await startRendezvous(p, agentId, agent, log).catch((e: Error) => {
    sub.close();
    throw new Error(`the rendezvous port for attached one-offs (SLIPWAY_RENDEZVOUS_PORT=${c.rendezvousPort}): ${e.message}`);
  });
  await agents.setRendezvousPort(agentId, (rendezvous.address() as { port: number }).port);
  const { cleaned } = await agent.start();
  if (cleaned.length) log.warn('cleaned up dynos a previous agent left', { dynos: cleaned.length });
  log.info('running dynos', { runner: runner.kind, port: c.dynoPort });
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(tidyTimer);
      sub.close();
      rendezvous.close();
      await agent.stop();
      await logs.close();
      await agents.down(agentId, process.pid).catch(() => undefined);
    },
  };
}
