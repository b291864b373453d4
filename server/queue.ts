/** The job queues (BullMQ on Redis). Stage handlers are looked up by job name. */
import { Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { redisOptions } from './redis.js';

export const QUEUES = { builds: 'builds' } as const;

export type StageHandler = (job: Job) => Promise<unknown>;

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
    { connection: bullConnection(redisUrl), prefix: `${prefix}:bull`, concurrency, autorun: true },
  );
}
