import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { createStageWorker, QUEUES, type StageHandler } from '../queue.js';
import { requireUrls } from '../compose.js';

/** The worker role: BullMQ workers running the build, release and deploy stages. */
export async function startWorkerRole(p: Platform, log: Logger, handlers: Record<string, StageHandler> = {}) {
  const { redisUrl } = requireUrls(p.config);
  const worker = createStageWorker(redisUrl, p.config.redisPrefix, QUEUES.builds, handlers, 2);
  worker.on('failed', (job, err) => log.warn('job failed', { queue: QUEUES.builds, job: job?.name, id: job?.id, error: err.message }));
  worker.on('error', (err) => log.warn('queue error', { error: err.message }));
  await worker.waitUntilReady();
  log.info('ready', { queue: QUEUES.builds, handlers: Object.keys(handlers).join(',') || 'none' });
  return { stop: () => worker.close() };
}
