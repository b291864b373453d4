import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostExecutor, type BuildExecutor } from '../../buildpacks/index.js';
import { createRuncBuildExecutor } from '../../runner/build-executor.js';
import { createRunc } from '../../runner/runc.js';
import { ensureStack } from '../../runner/stack.js';
import { createRedisBuildLog } from '../builds/build-log.js';
import type { Platform } from '../compose.js';
import { requireUrls } from '../compose.js';
import type { Logger } from '../log.js';
import { createStageWorker, QUEUES } from '../queue.js';
import { redisMemoryProblem } from '../redis.js';
import { createAddressService } from '../services/addresses.js';
import { createBuildStage, type BuildStageDeps } from '../stages/build.js';
import { createNetnsLeaser } from '../../runner/netns-lease.js';
import { createOneOffRunner } from '../../runner/one-off.js';
import { unpackedSlug } from '../../runner/slug-cache.js';
import { reapDeadWorkers } from '../../runner/reaper.js';
import { tmpdir } from 'node:os';

/**
 * Build containers (runc, the build stack, a network namespace with NAT) and release-phase one-offs when
 * isolation is on; else builds on the host and no release phase.
 */
async function isolation(p: Platform, log: Logger): Promise<{ executor: BuildExecutor; releasePhase?: BuildStageDeps['releasePhase'] }> {
  const c = p.config;
  if (c.buildIsolation === 'host') {
    log.warn('builds run on the host, not in build containers (not root, or SLIPWAY_BUILD_ISOLATION=host): every build runs as this user with the data dir, its admin token and every app in reach, so this platform takes one user only');
    return { executor: createHostExecutor() };
  }
  const rootfs = await ensureStack(c.stacksDir, 'build', { log: (l) => log.info(l) });
  await mkdir(c.downloadCache, { recursive: true, mode: 0o755 });
  await chown(c.downloadCache, 0, 0);
  const mounts = [
    // Read-only: only the worker adds to it, after checking each tarball against the registry (download-cache.ts).
    { source: c.downloadCache, destination: '/tmp/downloads', readonly: true },
    { source: '/etc/resolv.conf', destination: '/etc/resolv.conf', readonly: true },
    ...(c.buildCaBundle ? [{ source: c.buildCaBundle, destination: '/tmp/slipway-ca.crt', readonly: true }] : []),
  ];
  const runc = createRunc({ root: join(c.dataDir, 'run', 'runc'), bundles: join(c.dataDir, 'run', 'bundles') });
  const network = { bridge: c.bridge, subnet: c.subnet, nat: c.nat };
  const addresses = createAddressService(p.db, c.subnet);
  const reaped = await reapDeadWorkers({
    runc, scratchDirs: [tmpdir(), join(c.dataDir, 'run', 'dynos')], releaseAddresses: (owners) => addresses.releaseOwners(owners),
  });
  if (reaped.containers.length + reaped.netns.length + reaped.dirs.length > 0) {
    log.warn('cleaned up after a worker that died mid-build', { containers: reaped.containers.length, netns: reaped.netns.length, dirs: reaped.dirs.length });
  }
  const executor = createRuncBuildExecutor({ runc, rootfs, network, addresses, memoryBytes: c.buildMemoryBytes, mounts });
  const runStack = await ensureStack(c.stacksDir, 'run', { log: (l) => log.info(l) });
  const oneOff = createOneOffRunner({ runc, rootfs: runStack, withNetns: createNetnsLeaser(network, addresses), scratchDir: join(c.dataDir, 'run', 'dynos') });
  const releasePhase: BuildStageDeps['releasePhase'] = async (input) => {
    const slugDir = await unpackedSlug(input.slugFile, input.digest, join(c.dataDir, 'slug-cache'));
    return oneOff({
      app: input.app, slugDir, command: input.command, memoryBytes: 512 * 1024 * 1024, timeoutMs: 30 * 60_000, onLine: input.log,
      identity: { dyno: 'release.1', port: 5000, releaseVersion: input.version, config: input.config },
    });
  };
  return { executor, releasePhase };
}

/** The worker role: BullMQ workers running the build, release and deploy stages. */
export async function startWorkerRole(p: Platform, log: Logger) {
  const { redisUrl } = requireUrls(p.config);
  const build = createBuildStage({
    ...p.services,
    db: p.db,
    config: p.config,
    buildLog: createRedisBuildLog(p.redis, p.config.redisPrefix, { maxLines: p.config.quotas.buildLogLines }),
    ...(await isolation(p, log)),
    log: log.child('build'),
  });
  const worker = createStageWorker(redisUrl, p.config.redisPrefix, QUEUES.builds, { build }, p.config.buildConcurrency);
  worker.on('failed', (job, err) => log.warn('job failed', { queue: QUEUES.builds, job: job?.name, id: job?.id, error: err.message }));
  worker.on('error', (err) => log.warn('queue error', { error: err.message }));
  await worker.waitUntilReady();
  const memory = await redisMemoryProblem(p.redis);
  if (memory) log.warn(memory);
  log.info('ready', { queue: QUEUES.builds, concurrency: p.config.buildConcurrency, isolation: p.config.buildIsolation });
  return { stop: () => worker.close() };
}
