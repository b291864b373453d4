import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostExecutor, type BuildExecutor } from '../../buildpacks/index.js';
import { createRuncBuildExecutor } from '../../runner/build-executor.js';
import { createRunc } from '../../runner/runc.js';
import { DYNO_GID, DYNO_UID, ensureStack } from '../../runner/stack.js';
import { createRedisBuildLog } from '../builds/build-log.js';
import type { Platform } from '../compose.js';
import { requireUrls } from '../compose.js';
import type { Logger } from '../log.js';
import { createStageWorker, QUEUES } from '../queue.js';
import { createAddressService } from '../services/addresses.js';
import { createBuildStage } from '../stages/build.js';

/** Build containers (runc, the build stack, a network namespace with NAT) when isolation is on; else the host. */
async function buildExecutor(p: Platform, log: Logger): Promise<BuildExecutor> {
  const c = p.config;
  if (c.buildIsolation === 'host') {
    log.warn('builds run on the host, not in build containers (SLIPWAY_BUILD_ISOLATION=host)');
    return createHostExecutor();
  }
  const rootfs = await ensureStack(c.stacksDir, 'build', { log: (l) => log.info(l) });
  await mkdir(c.downloadCache, { recursive: true });
  await chown(c.downloadCache, DYNO_UID, DYNO_GID);
  const mounts = [
    { source: c.downloadCache, destination: '/tmp/downloads', readonly: false },
    { source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true },
    ...(c.buildCaBundle ? [{ source: c.buildCaBundle, destination: '/tmp/slipway-ca.crt', readonly: true }] : []),
  ];
  return createRuncBuildExecutor({
    runc: createRunc({ root: join(c.dataDir, 'run', 'runc'), bundles: join(c.dataDir, 'run', 'bundles') }),
    rootfs,
    network: { bridge: c.bridge, subnet: c.subnet, nat: c.nat },
    addresses: createAddressService(p.db, c.subnet),
    memoryBytes: c.buildMemoryBytes,
    mounts,
  });
}

/** The worker role: BullMQ workers running the build, release and deploy stages. */
export async function startWorkerRole(p: Platform, log: Logger) {
  const { redisUrl } = requireUrls(p.config);
  const build = createBuildStage({
    ...p.services,
    db: p.db,
    config: p.config,
    buildLog: createRedisBuildLog(p.redis, p.config.redisPrefix),
    executor: await buildExecutor(p, log),
    log: log.child('build'),
  });
  const worker = createStageWorker(redisUrl, p.config.redisPrefix, QUEUES.builds, { build }, p.config.buildConcurrency);
  worker.on('failed', (job, err) => log.warn('job failed', { queue: QUEUES.builds, job: job?.name, id: job?.id, error: err.message }));
  worker.on('error', (err) => log.warn('queue error', { error: err.message }));
  await worker.waitUntilReady();
  log.info('ready', { queue: QUEUES.builds, concurrency: p.config.buildConcurrency, isolation: p.config.buildIsolation });
  return { stop: () => worker.close() };
}
