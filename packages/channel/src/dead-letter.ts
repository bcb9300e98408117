import type { Redis } from "ioredis";
import type { ChannelLogger } from "./channel-logger.js";
import { MAX_ENVELOPE_LENGTH } from "./compact.js";
import { addOnce, type ChannelQueue, createChannelQueue } from "./producer.js";
import { type ChannelJobOptions, type DeadLetterJobData, deadLetterQueueName } from "./queues.js";

/** Defaults for what a dead-letter queue keeps: Redis runs `noeviction`, so it must stay bounded. */
export const DEAD_LETTER_DEFAULTS = {
  maxAgeSeconds: 30 * 24 * 3600,
  maxCount: 10_000,
  /** Longer envelopes are refused as `malformed` unread (compact.ts); keeping them helps nobody. */
  maxEnvelopeBytes: MAX_ENVELOPE_LENGTH,
} as const;

export interface DeadLetterLimits {
  /** Dead letters older than this are removed when the next one is added. */
  maxAgeSeconds?: number;
  /** Beyond this many, the oldest are removed when the next one is added. */
  maxCount?: number;
  /** A longer envelope is recorded (reason, size, source) without its body. */
  maxEnvelopeBytes?: number;
}

export interface DeadLetterQueueOptions extends DeadLetterLimits {
  connection: Redis;
  /** The queue whose rejects this holds; the dead-letter queue is `<queueName>-dead`. */
  queueName: string;
  prefix: string;
  logger?: ChannelLogger;
}

export interface DeadLetterQueue {
  readonly queue: ChannelQueue<DeadLetterJobData>;
  /** Sets an envelope aside under its original job id, once; `reason` must not contain secrets. */
  sendToDeadLetter(jobId: string, envelope: string, reason: string): Promise<{ added: boolean }>;
  close(): Promise<void>;
}

/** No worker consumes the dead-letter queue: its jobs wait for a person, one attempt each. */
const DEAD_LETTER_JOB_OPTIONS: ChannelJobOptions = { attempts: 1 };

/** At most this many jobs are removed per trim, so one add never turns into a long Redis call. */
const TRIM_BATCH = 1_000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export function createDeadLetterQueue(options: DeadLetterQueueOptions): DeadLetterQueue {
  const name = deadLetterQueueName(options.queueName);
  const maxAgeSeconds = positiveInteger(
    "maxAgeSeconds",
    options.maxAgeSeconds ?? DEAD_LETTER_DEFAULTS.maxAgeSeconds,
  );
  const maxCount = positiveInteger("maxCount", options.maxCount ?? DEAD_LETTER_DEFAULTS.maxCount);
  const maxEnvelopeBytes = positiveInteger(
    "maxEnvelopeBytes",
    options.maxEnvelopeBytes ?? DEAD_LETTER_DEFAULTS.maxEnvelopeBytes,
  );
  const queue = createChannelQueue<DeadLetterJobData>(
    { ...options, jobOptions: DEAD_LETTER_JOB_OPTIONS },
    name,
  );

  /**
   * Dead letters are never completed nor failed, so removeOnComplete/removeOnFail cannot bound
   * them: they are trimmed here, by age and then by count, oldest first.
   */
  async function trim(): Promise<void> {
    await queue.clean(maxAgeSeconds * 1000, TRIM_BATCH, "wait");
    const excess = Math.min((await queue.getWaitingCount()) - maxCount, TRIM_BATCH);
    if (excess <= 0) return;
    const oldest = await queue.getJobs(["wait"], 0, excess - 1, true);
    await Promise.all(oldest.map((job) => job.remove()));
  }

  return {
    queue,
    async sendToDeadLetter(jobId, envelope, reason) {
      const bytes = Buffer.byteLength(envelope, "utf8");
      const oversized = bytes > maxEnvelopeBytes;
      const result = await addOnce(queue, jobId, {
        envelope: oversized ? "" : envelope,
        reason,
        source_queue: options.queueName,
        dead_at: new Date().toISOString(),
        ...(oversized ? { envelope_omitted_bytes: bytes } : {}),
      });
      await trim();
      return result;
    },
    close: () => queue.close(),
  };
}
