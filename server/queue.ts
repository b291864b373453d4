/**
 * The job queues (BullMQ on Redis), one per stage after Receive: builds (source → slug), releases (the release row
 * and its release phase), deploys (the release's dynos started and verified). Each stage puts the next one's job
 * on its queue (the Pipeline); a worker maps each job name to its stage handler.
 *
 * Fair shares: a queue's slots are shared by tenants (the apps' owners, administrators aside). A job whose tenant holds its whole share
 * of the queue's slots (on every worker, leases.ts) is put back, delayed, holding no slot, so one tenant's long
 * builds or release phases never take every slot and another tenant's push goes through in its usual time.
 */
import { DelayedError, Queue, Worker, type Job, type ConnectionOptions } from 'bullmq';
import type { Lease, Leases } from './leases.js';
import { redisOptions } from './redis.js';

export const QUEUES = { builds: 'builds', releases: 'releases', deploys: 'deploys' } as const;

export type StageHandler = (job: Job) => Promise<unknown>;

/** A build job: the build row, and where its source is (git's quarantine dir during a push, or an uploaded tarball). */
export interface BuildJob {
  buildId: string;
  quarantine?: string | null;
  sourceFile?: string | null;
}

/** A release job: a build's slug to make a release of, or a release made already (a config change, a rollback). */
export interface ReleaseJob {
  buildId?: string;
  slugId?: string;
  releaseId?: string;
}

/** A deploy job: the release to start and verify, and the build it came from (whose log the pusher follows). */
export interface DeployJob {
  releaseId: string;
  buildId?: string;
}

const ONCE = { removeOnComplete: 1000, removeOnFail: 1000, attempts: 1 };

/** The one way onto the builds queue: one attempt (a retry would run the build twice), job id = build id. */
export async function enqueueBuild(queue: Queue, job: BuildJob): Promise<void> {
  await queue.add('build', job, { jobId: job.buildId, ...ONCE });
}

/** The stages' queues, made on first use; every process that starts a stage holds one. */
export function createPipeline(redisUrl: string | undefined, prefix: string) {
  const queues = new Map<string, Queue>();
  const queue = (name: string): Queue => {
    if (!redisUrl) throw new Error('REDIS_URL is not set: the pipeline needs Redis');
    let q = queues.get(name);
    if (!q) queues.set(name, (q = createQueue(redisUrl, prefix, name)));
    return q;
  };
  return {
    build: (job: BuildJob) => enqueueBuild(queue(QUEUES.builds), job),
    release: async (job: ReleaseJob) => void (await queue(QUEUES.releases).add('release', job, ONCE)),
    deploy: async (job: DeployJob) => void (await queue(QUEUES.deploys).add('deploy', job, { jobId: `deploy-${job.releaseId}`, ...ONCE })),
    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;

export function bullConnection(redisUrl: string): ConnectionOptions {
  return { ...redisOptions(redisUrl), maxRetriesPerRequest: null };
}

export function createQueue(redisUrl: string, prefix: string, name: string): Queue {
  return new Queue(name, { connection: bullConnection(redisUrl), prefix: `${prefix}:bull` });
}

/** How a queue's slots are shared: who a job's tenant is, and how many slots (on all workers) one tenant may hold. */
export interface FairShare {
  leases: Leases;
  tenantOf(job: Job): Promise<string | undefined>;
  share: number;
}

/** The tenant's place for the job: a lease, undefined when every place is taken, 'unknown' for a job of no tenant. */
async function placeOf(queue: string, fair: FairShare, job: Job): Promise<Lease | undefined | 'unknown'> {
  const tenant = await fair.tenantOf(job);
  return tenant ? fair.leases.take(`${queue}:${tenant}`, job.id!, fair.share) : 'unknown';
}

/** How long a job over its tenant's share waits, put back on the queue, before it asks again. */
const SHARE_WAIT_MS = 500;

/**
 * Runs the handler in one of the tenant's places, or puts the job back delayed (holding no slot) when all are taken.
 * A share that cannot be looked up (Redis or the database failing for a moment) does not hold the job: it runs.
 */
async function inShare(queue: string, fair: FairShare | undefined, job: Job, token: string | undefined, run: () => Promise<unknown>): Promise<unknown> {
  const asked = fair && job.id ? await placeOf(queue, fair, job).catch(() => 'unknown' as const) : 'unknown';
  const place = asked === 'unknown' ? undefined : asked;
  if (asked === undefined) {
    await job.moveToDelayed(Date.now() + SHARE_WAIT_MS, token);
    throw new DelayedError();
  }
  try {
    return await run();
  } finally {
    await place?.give().catch(() => undefined);
  }
}

/** A worker that maps each job name to its stage handler; an unknown job name fails that job with a message. */
export function createStageWorker(
  redisUrl: string,
  prefix: string,
  queue: string,
  handlers: Record<string, StageHandler>,
  concurrency: number,
  fair?: FairShare,
): Worker {
  return new Worker(
    queue,
    async (job, token) => {
      const handler = handlers[job.name];
      if (!handler) throw new Error(`no handler for job "${job.name}" on queue ${queue}`);
      return inShare(queue, fair, job, token, () => handler(job));
    },
    // A worker that dies mid-job loses its lock within 10 s and the job is found stalled within 5 s more, so the
    // push waiting on it hears "failed" in seconds, not BullMQ's default minute. (Builds run in child processes, so
    // the event loop never stalls long enough to lose a live lock.)
    { connection: bullConnection(redisUrl), prefix: `${prefix}:bull`, concurrency, autorun: true, lockDuration: 10_000, stalledInterval: 5_000 },
  );
}
