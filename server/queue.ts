/** The job queues (BullMQ on Redis). Stage handlers are looked up by job name. */
import { Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { redisOptions } from './redis.js';

export const QUEUES = { builds: 'builds' } as const;

export type StageHandler = (job: Job) => Promise<unknown>;

/** A build job: the build row, and where its source is (git's quarantine dir during a push, or an uploaded tarball). */
export interface BuildJob {
  buildId: string;
  quarantine?: string | null;
  sourceFile?: string | null;
}

/** The one way onto the builds queue: one attempt (a retry would run the build twice), job id = build id. */
export async function enqueueBuild(queue: Queue, job: BuildJob): Promise<void> {
  await queue.add('build', job, { jobId: job.buildId, removeOnComplete: 1000, removeOnFail: 1000, attempts: 1 });
}

export function bullConnection(redisUrl: string): ConnectionOptions {
  return { ...redisOptions(redisUrl), maxRetriesPerRequest: null };
}

export function createQueue(redisUrl: string, prefix: string, name: string): Queue {
  return new Queue(name, { connection: bullConnection(redisUrl), prefix: `${prefix}:bull` });
}

/** A worker that maps each job name to its stage handler; an unknown job name fails that job with a message. */
export function createStageWorker(
  redisUrl: string,
  prefix: string,
  queue: string,
  handlers: Record<string, StageHandler>,
  concurrency: number,
): Worker {
  return new Worker(
    queue,
    async (job) => {
      const handler = handlers[job.name];
      if (!handler) throw new Error(`no handler for job "${job.name}" on queue ${queue}`);
      return handler(job);
    },
    // A worker that dies mid-job loses its lock within 10 s and the job is found stalled within 5 s more, so the
    // push waiting on it hears "failed" in seconds, not BullMQ's default minute. (Builds run in child processes, so
    // the event loop never stalls long enough to lose a live lock.)
    { connection: bullConnection(redisUrl), prefix: `${prefix}:bull`, concurrency, autorun: true, lockDuration: 10_000, stalledInterval: 5_000 },
  );
}
