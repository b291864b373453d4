/** `slipway serve ROLE`: one role alone, until SIGTERM/SIGINT (or, when supervised, until its parent is gone). */
import cluster from 'node:cluster';
import type { Config, Role } from '../config.js';
import { openPlatform } from '../compose.js';
import type { Logger } from '../log.js';
import { startHeartbeat } from '../roles/heartbeat.js';
import { startApiRole } from '../roles/api.js';
import { DEPLOY_CONCURRENCY, startWorkerRole } from '../roles/worker.js';
import { startRouterRole } from '../roles/router.js';
import { startAgentRole } from '../roles/agent.js';

const STARTERS: Record<Role, (p: Awaited<ReturnType<typeof openPlatform>>, log: Logger) => Promise<{ stop(): Promise<void> }>> = {
  api: startApiRole,
  worker: startWorkerRole,
  router: startRouterRole,
  agent: startAgentRole,
};

/**
 * Each role's pool of database connections. The worker's is above its queues' summed concurrency, so a job never
 * waits for a connection another job holds (stages take no pooled client for long: their turns hold connections of
 * their own, db/turn.ts).
 */
const POOL_SIZE: Record<Role, (c: Config) => number> = {
  api: () => 10,
  worker: (c) => c.buildConcurrency + c.releaseConcurrency + DEPLOY_CONCURRENCY + 4,
  router: () => 4,
  agent: () => 4,
};

export async function serve(role: Role, config: Config, log: Logger, opts: { supervised: boolean }): Promise<void> {
  const primary = cluster.isPrimary;
  let platform: Awaited<ReturnType<typeof openPlatform>> | undefined;
  let handle: { stop(): Promise<void> } | undefined;
  let heartbeat: { stop(): Promise<void> } | undefined;

  // Signals and the supervisor watch come first: a role still starting (or stuck starting) must stop too,
  // never live on as an orphan.
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { why });
    const hard = setTimeout(() => process.exit(1), 40_000);
    hard.unref();
    await heartbeat?.stop();
    await handle?.stop().catch((e: Error) => log.error('stop failed', { error: e.message }));
    await platform?.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (!primary) {
    cluster.worker?.on('disconnect', () => void stop('primary gone'));
  } else if (opts.supervised) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop('supervisor gone');
    }, 1000).unref();
  }

  platform = await openPlatform(config, { migrate: primary, poolSize: POOL_SIZE[role](config) });
  const started = await STARTERS[role](platform, log);
  if (stopping) return void (await started.stop().catch(() => undefined)); // stop() is already on its way out
  handle = started;
  heartbeat = primary ? startHeartbeat(platform.redis, config.redisPrefix, role) : undefined;
}
