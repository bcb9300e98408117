import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { type ChannelLogger, stderrChannelLogger } from "./channel-logger.js";
import { assertHashTaggedPrefix, assertQueueName, type EnvelopeJobData } from "./queues.js";

export { UnrecoverableError };

export type EnvelopeJob = Job<EnvelopeJobData>;

/**
 * Handles one envelope. Throwing UnrecoverableError fails the job for good (a permanent error: bad
 * envelope, token rejected); any other error is retried with the job's backoff.
 */
export type EnvelopeHandler = (envelope: string, job: EnvelopeJob) => Promise<void>;

export interface ChannelConsumerOptions {
  /** A connection of the "worker" profile (maxRetriesPerRequest null), owned and closed by the caller. */
  connection: Redis;
  queueName: string;
  /** A hash-tagged prefix from channelQueuePrefix(). */
  prefix: string;
  concurrency?: number;
  handler: EnvelopeHandler;
  logger?: ChannelLogger;
}

export interface ChannelConsumer {
  readonly worker: Worker<EnvelopeJobData>;
  /** Stops taking jobs and waits for those in flight; the connection stays open. */
  close(): Promise<void>;
}

export function createChannelConsumer(options: ChannelConsumerOptions): ChannelConsumer {
  assertQueueName(options.queueName);
  assertHashTaggedPrefix(options.prefix);
  const logger = options.logger ?? stderrChannelLogger;
  const queue = options.queueName;
  const worker = new Worker<EnvelopeJobData>(
    queue,
    async (job) => {
      const envelope = job.data?.envelope;
      // Retrying a job that carries no envelope cannot make one appear.
      if (typeof envelope !== "string") throw new UnrecoverableError("job carries no envelope");
      await options.handler(envelope, job);
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 1,
    },
  );
  worker.on("error", (error) => logger.error({ err: error, queue }, "channel worker error"));
  // Job ids and reasons only: the envelope holds a share token for whoever can decrypt it.
  worker.on("failed", (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn(
      { queue, jobId: job.id, attemptsMade: job.attemptsMade, final, error: error.message },
      final ? "channel job failed for good" : "channel job failed, will retry",
    );
  });
  return { worker, close: () => worker.close() };
}
