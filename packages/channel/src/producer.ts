import { Job, type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type ChannelLogger, stderrChannelLogger } from "./channel-logger.js";
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
    connection: options.connection,
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
 * The comparison reads one field with one command: BullMQ keeps a job as the hash
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
  const client = await queue.getBackend().client;
  const stored = await client.hget(queue.toKey(jobId), "data");
  return { added: stored === null || storedEnvelope(stored) === data.envelope };
}

/** Most sends one Redis round trip carries; a bigger burst goes out as several. */
export const MAX_SENDS_PER_ROUND_TRIP = 256;

interface PendingSend {
  jobId: string;
  envelope: string;
  resolve: (result: { added: boolean }) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends made in the same turn of the event loop (a dispatcher's batch, a result sender's batch)
 * travel together: one pipeline holds each job's add script and the HGET that tells it new, so a
 * batch of 64 costs one write and one round trip instead of 128 of each. Each send still gets its
 * own answer; if the pipeline fails as a whole (Redis down), every send in it fails, and each
 * sender retries under the same job id, which the queue takes once.
 */
class CoalescingSender {
  #pending: PendingSend[] = [];
  #scheduled = false;

  constructor(private readonly queue: ChannelQueue<EnvelopeJobData>) {}

  send(jobId: string, envelope: string): Promise<{ added: boolean }> {
    return new Promise((resolve, reject) => {
      assertJobId(jobId);
      this.#pending.push({ jobId, envelope, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate, not a microtask: sends whose sealing finished in this same poll phase join.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    for (let start = 0; start < pending.length; start += MAX_SENDS_PER_ROUND_TRIP) {
      const batch = pending.slice(start, start + MAX_SENDS_PER_ROUND_TRIP);
      this.#sendBatch(batch).catch((error: unknown) => {
        for (const send of batch) send.reject(error);
      });
    }
  }

  async #sendBatch(batch: PendingSend[]): Promise<void> {
    const { queue } = this;
    const client = await queue.getBackend().client;
    const pipeline = client.pipeline();
    // Job#addJob queues BullMQ's own add script on the pipeline (as Queue#addBulk does) before its
    // first await, and settles once the pipeline has run; so it must not be awaited before exec.
    // BullMQ's pipeline interface has HGETALL but no HGET: the job hash is a handful of short fields
    // beside `data`, which is the envelope we compare anyway.
    const adds = batch.map(({ jobId, envelope }) => {
      const options = { ...queue.defaultJobOptions, jobId };
      const job = new Job<EnvelopeJobData>(queue, ENVELOPE_JOB_NAME, { envelope }, options, jobId);
      const added = job.addJob(pipeline);
      pipeline.hgetall(queue.toKey(jobId));
      return added;
    });
    const [replies, addResults] = await Promise.all([pipeline.exec(), Promise.allSettled(adds)]);
    batch.forEach((send, index) => {
      const add = addResults[index];
      const [readError, stored] = replies?.[2 * index + 1] ?? [new Error("Redis sent no reply to the read")];
      // HGETALL of a key that is gone answers an empty hash: the job was processed and removed.
      const data: unknown = stored?.data;
      if (add?.status !== "fulfilled") send.reject(add?.reason);
      else if (readError) send.reject(readError);
      else send.resolve({ added: typeof data !== "string" || storedEnvelope(data) === send.envelope });
    });
  }
}

export function createChannelProducer(options: ChannelQueueOptions): ChannelProducer {
  const queue = createChannelQueue<EnvelopeJobData>(options, options.queueName);
  const sender = new CoalescingSender(queue);
  return {
    queue,
    send: (jobId, envelope) => sender.send(jobId, envelope),
    close: () => queue.close(),
  };
}
