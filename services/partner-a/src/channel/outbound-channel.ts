import {
  type ChannelProducer,
  createChannelProducer,
  type EnvelopeSealer,
  type PartnerRegistry,
  revocationJobId,
  type ShareOfferPayload,
  type ShareRevokePayload,
} from "@share-broker/channel";
import type { Logger } from "@share-broker/service-kit";
import type { Redis } from "ioredis";

export type InboxJobState = "pending" | "completed" | "failed" | "missing";

/** What the dispatcher and reconciler need from the partner channel. */
export interface OutboundChannel {
  /**
   * Seals the offer for the audience and adds it to its inbox with jobId = share id. A redrive
   * first removes a finished job of that id, which BullMQ would otherwise keep and dedup against.
   */
  sendShareOffer(input: {
    audience: string;
    shareId: string;
    expiresAt: Date;
    payload: ShareOfferPayload;
    redrive?: boolean;
  }): Promise<{ added: boolean }>;
  /**
   * Seals a share-revoke for the audience and adds it to its inbox with jobId `<share id>.revoke`,
   * replacing a finished one of that id (a re-send after no acknowledgement came back).
   */
  sendShareRevoke(input: {
    audience: string;
    shareId: string;
    expiresAt: Date;
    payload: ShareRevokePayload;
  }): Promise<{ added: boolean }>;
  /** Where the offer stands in the audience's inbox; "missing" when Redis no longer has it. */
  inboxJobState(audience: string, shareId: string): Promise<InboxJobState>;
  close(): Promise<void>;
}

/**
 * Removes a finished (completed or failed) job of this id, which BullMQ would otherwise keep and
 * dedup a re-send against; a job still waiting is left alone, so the re-send joins it.
 */
async function removeIfFinished(producer: ChannelProducer, jobId: string): Promise<void> {
  const previous = await producer.queue.getJob(jobId);
  if (previous && ((await previous.isCompleted()) || (await previous.isFailed()))) await previous.remove();
}

/** The channel over BullMQ: one producer per audience inbox, created on first use. */
export function createOutboundChannel(deps: {
  registry: PartnerRegistry;
  sealer: EnvelopeSealer;
  redis: Redis;
  prefix: string;
  logger: Logger;
}): OutboundChannel {
  const producers = new Map<string, ChannelProducer>();
  const producerFor = (audience: string): ChannelProducer => {
    const queueName = deps.registry.get(audience).inboxQueue;
    let producer = producers.get(queueName);
    if (!producer) {
      producer = createChannelProducer({
        connection: deps.redis,
        queueName,
        prefix: deps.prefix,
        logger: deps.logger,
      });
      producers.set(queueName, producer);
    }
    return producer;
  };
  return {
    async sendShareOffer({ audience, shareId, expiresAt, payload, redrive }) {
      const envelope = await deps.sealer.seal({
        to: audience,
        typ: "share-offer",
        jti: shareId,
        expiresAt,
        payload,
      });
      const producer = producerFor(audience);
      if (redrive) await removeIfFinished(producer, shareId);
      return producer.send(shareId, envelope);
    },
    async sendShareRevoke({ audience, shareId, expiresAt, payload }) {
      const envelope = await deps.sealer.seal({
        to: audience,
        typ: "share-revoke",
        jti: shareId,
        expiresAt,
        payload,
      });
      const producer = producerFor(audience);
      const jobId = revocationJobId(shareId);
      await removeIfFinished(producer, jobId);
      return producer.send(jobId, envelope);
    },
    async inboxJobState(audience, shareId) {
      const job = await producerFor(audience).queue.getJob(shareId);
      if (!job) return "missing";
      const state = await job.getState();
      if (state === "completed") return "completed";
      if (state === "failed") return "failed";
      return "pending";
    },
    async close() {
      await Promise.all([...producers.values()].map((producer) => producer.close()));
    },
  };
}
