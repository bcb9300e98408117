import type { ChannelProducer, EnvelopeSealer, PartnerRegistry, SealInput } from "@share-broker/channel";
import type { Redis } from "ioredis";
import type { HarnessConfig } from "./config.js";

// Loaded on first use: the channel package (BullMQ, jose) takes a second to load, and most
// commands (list, a run without channel settings) never touch it.
const channelPackage = () => import("@share-broker/channel");

const quietLogger = { error: () => undefined, warn: () => undefined, info: () => undefined };

/**
 * The partner channel as a partner sees it: the queues in Redis (to inspect, or to deliver an
 * envelope the way a partner does) and, with partner A's keys, a sealer acting as partner A.
 * Connections are opened on first use and closed by close().
 */
export class ChannelTools {
  #redis: Redis | undefined;
  readonly #queues = new Map<string, ChannelProducer>();
  #registry: Promise<PartnerRegistry> | undefined;
  #sealer: Promise<EnvelopeSealer> | undefined;

  constructor(private readonly config: HarnessConfig) {}

  registry(): Promise<PartnerRegistry> {
    const file = this.config.partnersFile;
    if (!file) throw new Error("PARTNERS_FILE is needed for this step");
    this.#registry ??= channelPackage().then((channel) => channel.loadPartnerRegistry(file));
    return this.#registry;
  }

  /** Partner B's inbox queue: from the registry when given, else the naming convention. */
  async inboxOfPartnerB(): Promise<string> {
    if (!this.config.partnersFile) return `inbox-${this.config.partnerBId}`;
    return (await this.registry()).get(this.config.partnerBId).inboxQueue;
  }

  /** Partner A's results queue (partner-b's import results to it): from the registry when given, else the naming convention. */
  async resultsOfPartnerA(): Promise<string> {
    if (!this.config.partnersFile) return `results-${this.config.partnerAId}`;
    return (await this.registry()).get(this.config.partnerAId).resultsQueue;
  }

  async deadLetterOfPartnerB(): Promise<string> {
    return (await channelPackage()).deadLetterQueueName(await this.inboxOfPartnerB());
  }

  async queue(name: string): Promise<ChannelProducer> {
    if (!this.config.redisUrl) throw new Error("REDIS_URL is needed for this step");
    const { createChannelProducer } = await channelPackage();
    if (!this.#redis) {
      const { Redis } = await import("ioredis");
      this.#redis = new Redis(this.config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 5_000 });
    }
    let producer = this.#queues.get(name);
    if (!producer) {
      producer = createChannelProducer({
        connection: this.#redis,
        queueName: name,
        prefix: this.config.queuePrefix,
        logger: quietLogger,
      });
      this.#queues.set(name, producer);
    }
    return producer;
  }

  /** Seals an envelope signed with partner A's key, as partner A's dispatcher would. */
  async sealAsPartnerA(input: SealInput): Promise<string> {
    if (!this.config.partnerAKeysDir) throw new Error("PARTNER_A_KEYS_DIR is needed for this step");
    const keysDir = this.config.partnerAKeysDir;
    this.#sealer ??= (async () => {
      const channel = await channelPackage();
      return channel.createEnvelopeSealer({
        self: this.config.partnerAId,
        keys: await channel.loadPartnerPrivateKeys(keysDir),
        registry: await this.registry(),
      });
    })();
    return (await this.#sealer).seal(input);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((producer) => producer.close().catch(() => undefined)));
    this.#queues.clear();
    if (this.#redis) {
      await this.#redis.quit().catch(() => this.#redis?.disconnect());
      this.#redis = undefined;
    }
  }
}
