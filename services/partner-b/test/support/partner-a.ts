import { randomUUID } from "node:crypto";
import {
  createChannelProducer,
  createEnvelopeOpener,
  createEnvelopeSealer,
  type EnvelopeSealer,
  type ImportResultPayload,
  loadPartnerRegistry,
  type PartnerPrivateKeys,
  type PartnerRegistry,
  type RevocationReason,
  revocationJobId,
  type ShareOfferPayload,
} from "@share-broker/channel";
import { decodeShareTokenClaims } from "@share-broker/didit";
import { testRedisUrl } from "@share-broker/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { PartnerBDatabase } from "./database.js";
import type { Sandbox } from "./processes.js";
import { APP_A, APP_B, type TestWorld } from "./world.js";

export interface Offer {
  shareId: string;
  sessionId: string;
  token: string;
  envelope: string;
  payload: ShareOfferPayload;
  expiresAt: Date;
}

export interface OfferOptions {
  scope?: string;
  /** partner-b's user the offer's link code is issued for (a new one by default): the import's vendor_data. */
  userRef?: string;
  /** Carry exactly this link code instead of issuing one. */
  linkCode?: string;
  ttlSeconds?: number;
  forApplicationId?: string;
  /** Share this existing (finished) session again instead of verifying a new user. */
  sessionId?: string;
  status?: "Approved" | "Declined" | "In Review";
}

export interface ReceivedResult {
  jobId: string;
  payload: ImportResultPayload;
}

/**
 * The test plays Partner A: verifies users in the sandbox with A's key, mints share tokens for B,
 * seals share offers with A's envelope keys, puts them on B's inbox, and reads B's import results
 * from A's results queue with A's keys.
 */
export class PartnerAPlayer {
  private constructor(
    private readonly sandbox: Sandbox,
    readonly registry: PartnerRegistry,
    private readonly sealer: EnvelopeSealer,
    private readonly opener: ReturnType<typeof createEnvelopeOpener>,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly inbox: ReturnType<typeof createChannelProducer>,
    private readonly results: Queue,
    private readonly world: TestWorld,
    private readonly links: PartnerBDatabase,
  ) {}

  /** Every share token minted, for the "never at rest, never logged" checks. */
  readonly tokens: string[] = [];

  /** `links` is partner-b's database, where the player has partner-b issue link codes for its users. */
  static async create(
    world: TestWorld,
    sandbox: Sandbox,
    prefix: string,
    links: PartnerBDatabase,
  ): Promise<PartnerAPlayer> {
    const registry = await loadPartnerRegistry(world.partnersFile);
    const keys = world.keys.a;
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const b = registry.get("partner-b");
    const a = registry.get("partner-a");
    return new PartnerAPlayer(
      sandbox,
      registry,
      createEnvelopeSealer({ self: "partner-a", keys, registry }),
      createEnvelopeOpener({ self: "partner-a", keys, registry }),
      redis,
      prefix,
      createChannelProducer({ connection: redis, queueName: b.inboxQueue, prefix }),
      new Queue(a.resultsQueue, { connection: redis, prefix }),
      world,
      links,
    );
  }

  /** A finished session of a new user at A (Didit status as asked). */
  async verifiedSession(status: "Approved" | "Declined" | "In Review" = "Approved"): Promise<string> {
    const created = await this.sandbox
      .client(APP_A.apiKey)
      .createSession({ workflow_id: APP_A.kyc, vendor_data: `a-user-${randomUUID()}` });
    const completed = await this.sandbox.control("POST", `/sessions/${created.session_id}/complete`, {
      status,
    });
    if (completed.status !== 200) throw new Error(`complete answered ${completed.status}`);
    return created.session_id;
  }

  /** Mints a token for B (or another application) and seals a share offer around it; does not send it. */
  async prepareOffer(options: OfferOptions = {}): Promise<Offer> {
    const sessionId = options.sessionId ?? (await this.verifiedSession(options.status));
    const { share_token: token } = await this.sandbox.client(APP_A.apiKey).shareSession(sessionId, {
      for_application_id: options.forApplicationId ?? APP_B.id,
      ttl_in_seconds: options.ttlSeconds ?? 900,
    });
    this.tokens.push(token);
    const claims = decodeShareTokenClaims(token);
    if (!claims.ok) throw new Error("the sandbox minted an undecodable token");
    const expiresAt = new Date(claims.claims.exp * 1000);
    const shareId = randomUUID();
    const payload: ShareOfferPayload = {
      share_token: token,
      session_kind: claims.claims.session_kind,
      purpose: "account_opening",
      scope: options.scope ?? "kyc",
      consent_id: randomUUID(),
      link_code:
        options.linkCode ?? (await this.links.issueLink(options.userRef ?? `b-user-${randomUUID()}`)),
      user_pseudonym: `u_test_${shareId.slice(0, 8)}`,
      token_expires_at: expiresAt.toISOString(),
    };
    const envelope = await this.sealer.seal({
      to: "partner-b",
      typ: "share-offer",
      jti: shareId,
      expiresAt,
      payload,
    });
    return { shareId, sessionId, token, envelope, payload, expiresAt };
  }

  /** Adds an envelope to B's inbox under a job id (the share id by default). */
  async deliver(envelope: string, jobId: string): Promise<void> {
    await this.inbox.send(jobId, envelope);
  }

  async share(options: OfferOptions = {}): Promise<Offer> {
    const offer = await this.prepareOffer(options);
    await this.deliver(offer.envelope, offer.shareId);
    return offer;
  }

  /** Seals a share-revoke for a share and puts it on B's inbox under its revocation job id. */
  async revoke(shareId: string, reason: RevocationReason = "consent_withdrawn"): Promise<void> {
    const envelope = await this.sealer.seal({
      to: "partner-b",
      typ: "share-revoke",
      jti: shareId,
      expiresAt: new Date(Date.now() + 3_600_000),
      payload: { reason, revoked_at: new Date().toISOString() },
    });
    await this.deliver(envelope, revocationJobId(shareId));
  }

  /** Seals a share offer with another key set or through another registry (refusal tests). */
  async sealWith(
    offer: Offer,
    options: { keys?: PartnerPrivateKeys; registryFile?: string; to?: string },
  ): Promise<string> {
    const registry = options.registryFile ? await loadPartnerRegistry(options.registryFile) : this.registry;
    const sealer = createEnvelopeSealer({
      self: "partner-a",
      keys: options.keys ?? this.world.keys.a,
      registry,
    });
    return sealer.seal({
      to: options.to ?? "partner-b",
      typ: "share-offer",
      jti: offer.shareId,
      expiresAt: offer.expiresAt,
      payload: offer.payload,
    });
  }

  /** The import results B sent for a share, opened with A's keys, oldest first. */
  async resultsFor(shareId: string): Promise<ReceivedResult[]> {
    const jobs = await this.results.getJobs(["wait", "completed", "failed", "active", "delayed"]);
    const results: (ReceivedResult & { timestamp: number })[] = [];
    for (const job of jobs) {
      if (!job?.id || !(job.id === shareId || job.id.startsWith(`${shareId}-`))) continue;
      const opened = await this.opener.open(job.data.envelope as string, "import-result");
      if (!opened.ok) throw new Error(`result ${job.id} does not open: ${opened.reason}`);
      results.push({ jobId: job.id, payload: opened.claims.payload, timestamp: job.timestamp });
    }
    return results
      .sort((x, y) => x.timestamp - y.timestamp || x.jobId.localeCompare(y.jobId))
      .map(({ jobId, payload }) => ({ jobId, payload }));
  }

  /** Whether partner-b has finished every job of its inbox (none waiting, active or delayed). */
  async inboxSettled(): Promise<boolean> {
    const counts = await this.inbox.queue.getJobCounts("wait", "active", "delayed", "prioritized");
    return Object.values(counts).every((count) => count === 0);
  }

  /** Redis loses partner-b's inbox, jobs in flight included. */
  async loseInbox(): Promise<void> {
    await this.inbox.queue.obliterate({ force: true });
  }

  /** Jobs partner-b set aside in its inbox's dead-letter queue. */
  async deadLetters(): Promise<{ id: string; reason: string }[]> {
    const queue = new Queue(`${this.registry.get("partner-b").inboxQueue}-dead`, {
      connection: this.redis,
      prefix: this.prefix,
    });
    try {
      const jobs = await queue.getJobs(["wait", "completed", "failed", "delayed"]);
      return jobs.filter(Boolean).map((job) => ({ id: String(job.id), reason: String(job.data.reason) }));
    } finally {
      await queue.close();
    }
  }

  async close(): Promise<void> {
    await this.inbox.close();
    await this.results.close();
    await this.redis.quit();
  }
}
