import type { EnvelopeJobData } from "@share-broker/channel";
import type { Logger } from "@share-broker/service-kit";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";

export type InboxJob = Job<EnvelopeJobData>;

export interface InboxWorkerOptions {
  /** A connection of the "worker" profile, owned and closed by the caller. */
  connection: Redis;
  queueName: string;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Handles one job; `token` is the worker's lock token, needed to re-delay the job. */
  handle: (job: InboxJob, token: string | undefined) => Promise<void>;
  logger: Logger;
}

/**
 * The BullMQ worker on this partner's inbox queue. It is built here rather than with the channel
 * package's consumer because the importer needs two things that consumer does not expose: the lock
 * token (to put a job back with a delay Didit's Retry-After chose) and the lock and stalled-check
 * timings (so a worker that died mid-import is noticed quickly).
 */
export function createInboxWorker(options: InboxWorkerOptions): Worker<EnvelopeJobData> {
  const { logger, queueName: queue } = options;
  const worker = new Worker<EnvelopeJobData>(queue, (job, token) => options.handle(job, token), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    autorun: false,
  });
  worker.on("error", (error) => logger.error({ err: error, queue }, "inbox worker error"));
  // Job ids and reasons only: the envelope holds a share token.
  worker.on("failed", (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn(
      { queue, job_id: job.id, attempts_made: job.attemptsMade, final, reason: error.message },
      final ? "inbox job failed for good" : "inbox job failed, will retry",
    );
  });
  worker.on("stalled", (jobId) => logger.warn({ queue, job_id: jobId }, "inbox job stalled; retrying it"));
  return worker;
}
