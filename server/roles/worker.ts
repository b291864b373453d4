import { createHostExecutor } from '../../buildpacks/index.js';
import { createRedisBuildLog } from '../builds/build-log.js';
import type { Platform } from '../compose.js';
import { requireUrls } from '../compose.js';
import type { Logger } from '../log.js';
import { createStageWorker, QUEUES } from '../queue.js';
import { createBuildStage } from '../stages/build.js';

/** The worker role: BullMQ workers running the build, release and deploy stages. */
export async function startWorkerRole(p: Platform, log: Logger) {
  const { redisUrl } = requireUrls(p.config);
  const build = createBuildStage({
    ...p.services,
    db: p.db,
    config: p.config,
    buildLog: createRedisBuildLog(p.redis, p.config.redisPrefix),
    executor: createHostExecutor(),
    log: log.child('build'),
  });
  const worker = createStageWorker(redisUrl, p.config.redisPrefix, QUEUES.builds, { build }, p.config.buildConcurrency);
  worker.on('failed', (job, err) => log.warn('job failed', { queue: QUEUES.builds, job: job?.name, id: job?.id, error: err.message }));
  worker.on('error', (err) => log.warn('queue error', { error: err.message }));
  await worker.waitUntilReady();
  log.info('ready', { queue: QUEUES.builds, concurrency: p.config.buildConcurrency });
  return { stop: () => worker.close() };
}
