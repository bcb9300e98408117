import type { Redis } from "ioredis";
import type { ChannelLogger } from "./channel-logger.js";
import { addOnce, type ChannelQueue, createChannelQueue } from "./producer.js";
import { type ChannelJobOptions, type DeadLetterJobData, deadLetterQueueName } from "./queues.js";

export interface DeadLetterQueueOptions {
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

/**
 * No worker consumes the dead-letter queue: its jobs wait for a person (or a replay tool) to look at
 * them. They are never completed, so removeOnComplete/removeOnFail do not bound it; the volume is
 * that of envelopes we could not open, which a monitor should alert on long before it matters.
 */
const DEAD_LETTER_JOB_OPTIONS: ChannelJobOptions = { attempts: 1 };

export function createDeadLetterQueue(options: DeadLetterQueueOptions): DeadLetterQueue {
  const name = deadLetterQueueName(options.queueName);
  const queue = createChannelQueue<DeadLetterJobData>(
    { ...options, jobOptions: DEAD_LETTER_JOB_OPTIONS },
    name,
  );
  return {
    queue,
    sendToDeadLetter: (jobId, envelope, reason) =>
      addOnce(queue, jobId, {
        envelope,
        reason,
        source_queue: options.queueName,
        dead_at: new Date().toISOString(),
      }),
    close: () => queue.close(),
  };
}
