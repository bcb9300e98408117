import { type ChannelProducer, createChannelProducer, type PartnerRegistry } from "@share-broker/channel";
import type { Logger } from "@share-broker/service-kit";
import type { Redis } from "ioredis";

/** The results queues of the partners that share with us, one producer per partner, made on first use. */
export class ResultsChannel {
  readonly #producers = new Map<string, ChannelProducer>();

  constructor(
    private readonly deps: { connection: Redis; prefix: string; registry: PartnerRegistry; logger: Logger },
  ) {}

  /** Adds a sealed import result to the partner's results queue; a job id the queue still holds is not added twice. */
  send(partnerId: string, jobId: string, envelope: string): Promise<{ added: boolean }> {
    return this.#producerFor(partnerId).send(jobId, envelope);
  }

  #producerFor(partnerId: string): ChannelProducer {
    let producer = this.#producers.get(partnerId);
    if (!producer) {
      producer = createChannelProducer({
        connection: this.deps.connection,
        queueName: this.deps.registry.get(partnerId).resultsQueue,
        prefix: this.deps.prefix,
        logger: this.deps.logger,
      });
      this.#producers.set(partnerId, producer);
    }
    return producer;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#producers.values()].map((producer) => producer.close()));
    this.#producers.clear();
  }
}
