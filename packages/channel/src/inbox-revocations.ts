import type { Redis } from "ioredis";
import type { ChannelLogger } from "./channel-logger.js";
import { type ChannelQueue, createChannelQueue } from "./producer.js";
import { type EnvelopeJobData, revocationJobId } from "./queues.js";

export interface InboxRevocations {
  /**
   * The sealed share-revoke waiting in this inbox for a share, if any: read before importing its
   * offer, so a revocation queued behind the offer still comes first. Unverified until opened.
   */
  waitingEnvelope(shareId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface InboxRevocationsOptions {
  connection: Redis;
  /** The inbox the revocations arrive on (this partner's own). */
  queueName: string;
  prefix: string;
  logger?: ChannelLogger;
}

export function createInboxRevocations(options: InboxRevocationsOptions): InboxRevocations {
  const queue: ChannelQueue<EnvelopeJobData> = createChannelQueue(options, options.queueName);
  return {
    async waitingEnvelope(shareId) {
      // One HGET of the job hash's data field (as addOnce reads it), not the whole job.
      const client = await queue.getBackend().client;
      const data = await client.hget(queue.toKey(revocationJobId(shareId)), "data");
      if (data === null) return undefined;
      try {
        const envelope = (JSON.parse(data) as Partial<EnvelopeJobData> | null)?.envelope;
        return typeof envelope === "string" ? envelope : undefined;
      } catch {
        return undefined;
      }
    },
    close: () => queue.close(),
  };
}
