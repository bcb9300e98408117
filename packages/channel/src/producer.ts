import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type ChannelLogger, stderrChannelLogger } from "./channel-logger.js";
import { bullConnection } from "./connection.js";
import {
  assertHashTaggedPrefix,
  assertJobId,
  assertQueueName,
  type ChannelJobOptions,
  channelJobOptions,
  ENVELOPE_JOB_NAME,
  type EnvelopeJobData,
} from "./queues.js";

export interface ChannelQueueOptions {
  /** A connection of the "producer" profile (no offline queue), owned and closed by the caller. */
  connection: Redis;
  queueName: string;
  /** A hash-tagged prefix from channelQueuePrefix(). */
  prefix: string;
  jobOptions?: ChannelJobOptions;
  logger?: ChannelLogger;
}

export interface ChannelProducer {
  readonly queue: ChannelQueue<EnvelopeJobData>;
  /**
   * Adds the envelope under a business key. A job id BullMQ still holds is not added again;
   * `added` says which happened.
   */
  send(jobId: string, envelope: string): Promise<{ added: boolean }>;
  /** Closes the queue, not the connection. */
  close(): Promise<void>;
}

export type ChannelQueue<D extends EnvelopeJobData> = Queue<D, unknown, string, D, unknown, string>;

export function createChannelQueue<D extends EnvelopeJobData>(
  options: ChannelQueueOptions,
  queueName: string,
): ChannelQueue<D> {
  assertQueueName(queueName);
  assertHashTaggedPrefix(options.prefix);
  const queue = new Queue<D, unknown, string, D, unknown, string>(queueName, {
    connection: bullConnection(options.connection),
    prefix: options.prefix,
    defaultJobOptions: channelJobOptions(options.jobOptions),
  });
  const logger = options.logger ?? stderrChannelLogger;
  queue.on("error", (error) => logger.error({ err: error, queue: queueName }, "channel queue error"));
  return queue;
}

/** The envelope in a job's stored `data` field (BullMQ keeps it as JSON), if it has one. */
function storedEnvelope(data: string): unknown {
  try {
    return (JSON.parse(data) as Partial<EnvelopeJobData> | null)?.envelope;
  } catch {
    return undefined;
  }
}

/**
 * Adds a job and tells whether this call created it. BullMQ answers a duplicate id with the id of
 * the job it already holds and no sign of the difference, so the stored envelope is compared with
 * ours: every sealed envelope is unique (a fresh random IV, and in the first format a fresh
 * ephemeral key). If the job was already processed and removed in between, we cannot tell and
 * report it as added.
 *
 * The comparison reads one field with one command: BullMQ 5 keeps a job as the hash
 * `queue.toKey(jobId)` (`<prefix>:<queue>:<jobId>`) with its data, as JSON, in the field `data`.
 * So a send costs the add script and an HGET, not the whole hash turned into a Job.
 */
export async function addOnce<D extends EnvelopeJobData>(
  queue: ChannelQueue<D>,
  jobId: string,
  data: D,
  options?: JobsOptions,
): Promise<{ added: boolean }> {
  assertJobId(jobId);
  await queue.add(ENVELOPE_JOB_NAME, data, { ...options, jobId });
  const client = await queue.client;
  const stored = await client.hget(queue.toKey(jobId), "data");
  return { added: stored === null || storedEnvelope(stored) === data.envelope };
}

export function createChannelProducer(options: ChannelQueueOptions): ChannelProducer {
  const queue = createChannelQueue<EnvelopeJobData>(options, options.queueName);
  return {
    queue,
    send: (jobId, envelope) => addOnce(queue, jobId, { envelope }),
    close: () => queue.close(),
  };
}
