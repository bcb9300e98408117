import type { JobsOptions } from "bullmq";
import { z } from "zod";

/**
 * Queue names come from the partner registry. BullMQ builds every key of a queue as
 * `<prefix>:<queue>:<suffix>` and reserves ":" as that separator, so names may not contain it; nor
 * braces, which would change the Redis Cluster hash tag below.
 */
export const queueNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only (BullMQ reserves ':')");

export const DEFAULT_CHANNEL_NAMESPACE = "share-broker";

/**
 * The BullMQ prefix for channel queues. Its braces are a Redis Cluster hash tag: only the text
 * between them is hashed, so every key of every channel queue lands in one slot, which BullMQ's
 * multi-key Lua scripts require. One slot for all channel queues is fine at this volume and keeps
 * the dead-letter queue beside its source.
 */
export function channelQueuePrefix(namespace: string = DEFAULT_CHANNEL_NAMESPACE): string {
  queueNameSchema.parse(namespace);
  return `{${namespace}}`;
}

export function assertHashTaggedPrefix(prefix: string): void {
  if (!/^\{[A-Za-z0-9._-]+\}$/.test(prefix)) {
    throw new TypeError(
      `queue prefix "${prefix}" must be a Redis Cluster hash tag such as "{share-broker}"; build it with channelQueuePrefix()`,
    );
  }
}

export function assertQueueName(queueName: string): void {
  const parsed = queueNameSchema.safeParse(queueName);
  if (!parsed.success) {
    throw new TypeError(`invalid queue name "${queueName}": ${parsed.error.issues[0]?.message}`);
  }
}

/** Job ids are business keys (the share id); BullMQ forbids ":" in custom ids and integer ids. */
export function assertJobId(jobId: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(jobId) || /^\d+$/.test(jobId)) {
    throw new TypeError(
      `invalid job id "${jobId}": use a business key such as the share id (no ":", not an integer)`,
    );
  }
}

/**
 * The inbox job id of a share's revocation, beside its offer's (the share id): the importer looks it
 * up before importing, so a revocation already waiting behind its offer wins.
 */
export function revocationJobId(shareId: string): string {
  return `${shareId}.revoke`;
}

export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-dead`;
}

/** What a channel job carries: the sealed envelope, opaque to Redis. */
export interface EnvelopeJobData {
  envelope: string;
}

/** An envelope set aside because it could not be opened or handled, with why and from where. */
export interface DeadLetterJobData extends EnvelopeJobData {
  reason: string;
  source_queue: string;
  dead_at: string;
  /** Set instead of keeping the envelope when it was longer than the dead-letter limit (bytes). */
  envelope_omitted_bytes?: number;
}

export const ENVELOPE_JOB_NAME = "envelope";

/**
 * Defaults for channel jobs. Eight attempts with exponential backoff from 2 s wait about 4 min in
 * all, well inside a share token's default 900 s life; permanent failures skip the rest by throwing
 * UnrecoverableError. Finished jobs are kept a while for inspection, bounded by age and by count so
 * Redis (noeviction) never fills up.
 */
export const CHANNEL_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
} as const satisfies JobsOptions;

export type ChannelJobOptions = Pick<
  JobsOptions,
  "attempts" | "backoff" | "removeOnComplete" | "removeOnFail"
>;

export function channelJobOptions(overrides: ChannelJobOptions = {}): JobsOptions {
  return { ...CHANNEL_JOB_OPTIONS, ...overrides };
}
