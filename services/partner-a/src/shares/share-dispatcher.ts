import { createHash } from "node:crypto";
import type { PartnerRegistry } from "@share-broker/channel";
import { isOpenShareState } from "@share-broker/contracts";
import { type DiditClient, DiditError, decodeShareTokenClaims, shareTokenId } from "@share-broker/didit";
import { type Clock, DrainLoop, failpoint, type Logger, safeErrorFields } from "@share-broker/service-kit";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AuditEntry, AuditLog } from "../audit/audit-log.js";
import type { Pseudonymizer } from "../audit/pseudonym.js";
import type { PartnerABatchFallbacks } from "../batches.js";
import type { OutboundChannel } from "../channel/outbound-channel.js";
import type { Database } from "../db/database.js";
import { shareDispatches, shares } from "../db/schema/index.js";
import { revokeShares } from "../revocations/revoke-shares.js";
import {
  type Claimed,
  claimDue,
  lockSendable,
  type MintedShare,
  markSent,
  recordMints,
  type ShareRow,
} from "./dispatch-statements.js";
import { shareAuditContext } from "./share-audit-context.js";

export interface DispatcherOptions {
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
  maxAttempts: number;
}

/** How long a share-revoke envelope may wait in partner-b's inbox: longer than any share token lives. */
const REVOCATION_ENVELOPE_SECONDS = 24 * 3600;

/** Backoff between mint attempts on transient Didit errors: 1 s, 2 s, 4 s … capped at 60 s. */
function backoffSeconds(attempts: number): number {
  return Math.min(60, 2 ** Math.max(0, attempts - 1));
}

/**
 * Drains the outbox (share_dispatches) a batch at a time: leases due rows, mints each share's Didit
 * token right before sending (in parallel), records the batch's mints in one statement, then under
 * the batch's row locks seals each token and puts it on the audience's inbox queue with jobId =
 * share id, and marks the batch sent in one statement. A dispatcher that dies mid-way (after
 * minting, before enqueueing) leaves leased rows another pass re-drives once the lease lapses; the
 * receiver's dedup on share id makes a resend harmless.
 */
export class ShareDispatcher {
  readonly #loop: DrainLoop;

  constructor(
    private readonly deps: {
      db: Database;
      didit: DiditClient;
      channel: OutboundChannel;
      registry: PartnerRegistry;
      audit: AuditLog;
      pseudonyms: Pseudonymizer;
      clock: Clock;
      logger: Logger;
      fallbacks: PartnerABatchFallbacks;
    },
    private readonly options: DispatcherOptions,
  ) {
    this.#loop = new DrainLoop("dispatcher", () => this.dispatchOnce(), options.pollMs, deps.logger);
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Called after a share is accepted, so it goes out now rather than at the next poll. */
  wake(): void {
    this.#loop.wake();
  }

  /** One pass over due outbox rows; true when the batch was full (more are likely waiting). */
  async dispatchOnce(): Promise<boolean> {
    const claimed = await claimDue(this.deps.db, this.options.concurrency, this.options.leaseSeconds);
    // A revoked share's outbox row carries its revocation to partner-b; it is never minted again.
    const revocations = claimed.filter((row) => row.share?.revokedAt);
    const offers = claimed.filter((row) => !row.share?.revokedAt);
    await Promise.all(revocations.map((row) => this.#revokeSafely(row)));
    const minted = await Promise.all(offers.map((row) => this.#mintSafely(row)));
    const batch = minted.filter((share): share is MintedShare & { attempts: number } => share !== undefined);
    if (batch.length > 0) await this.#sendSafely(batch);
    return claimed.length >= this.options.concurrency;
  }

  async #mintSafely(claimed: Claimed): Promise<(MintedShare & { attempts: number }) | undefined> {
    try {
      const minted = await this.#mint(claimed);
      return minted && { ...minted, attempts: claimed.attempts };
    } catch (error) {
      // Unexpected (e.g. Postgres down): keep the row and try again after a backoff.
      // The error's fields, not its message: Postgres's detail can quote the row, user id included.
      this.deps.logger.error(
        { ...safeErrorFields(error), share_id: claimed.shareId },
        "dispatch failed; will retry",
      );
      await this.#rescheduleOrLeave([claimed], String((error as Error).message ?? error));
      return undefined;
    }
  }

  /** Mints the share's token, or settles a share that cannot go out (gone, cancelled, failed, to retry). */
  async #mint(claimed: Claimed): Promise<MintedShare | undefined> {
    const { share, consent } = claimed;
    if (!share || !consent || !isOpenShareState(share.status)) {
      await this.deps.db.delete(shareDispatches).where(eq(shareDispatches.shareId, claimed.shareId));
      return undefined;
    }
    const now = this.deps.clock.now();
    if (consent.withdrawnAt || consent.expiresAt <= now) {
      const reason = consent.withdrawnAt ? "consent_withdrawn" : "consent_expired";
      if (share.status !== "sent") {
        await this.#finish(share, "cancelled", reason);
        return undefined;
      }
      // A redrive of a share whose consent ended: no new token; partner-b is told to drop the old one.
      await this.deps.db.transaction((tx) =>
        revokeShares(tx, this.deps.audit, eq(shares.shareId, share.shareId), reason),
      );
      this.wake();
      return undefined;
    }
    if (!consent.linkCode) {
      // A consent from before link codes: the audience would refuse the offer, so it never leaves.
      await this.#finish(share, "failed", "consent_without_link_code");
      return undefined;
    }
    const partner = this.deps.registry.find(share.audience);
    if (!partner) {
      await this.#finish(share, "failed", "audience_not_configured");
      return undefined;
    }

    let token: string;
    try {
      ({ share_token: token } = await this.deps.didit.shareSession(share.sessionId, {
        for_application_id: partner.diditApplicationId,
        ttl_in_seconds: share.ttlSeconds,
      }));
    } catch (error) {
      if (error instanceof DiditError && error.retryable && claimed.attempts < this.options.maxAttempts) {
        await this.#reschedule(claimed, `didit ${error.status ?? "network"}: ${error.message}`);
        return undefined;
      }
      const reason =
        error instanceof DiditError ? `didit_share_failed_${error.status ?? "network"}` : "mint_failed";
      this.deps.logger.warn(
        { err: error, share_id: share.shareId },
        "minting the share token failed for good",
      );
      await this.#finish(share, "failed", reason);
      return undefined;
    }
    const claims = decodeShareTokenClaims(token);
    return {
      share,
      token,
      tokenHash: createHash("sha256").update(token).digest("hex"),
      tokenId: shareTokenId(token),
      tokenExpiresAt: claims.ok
        ? new Date(claims.claims.exp * 1000)
        : new Date(now.getTime() + share.ttlSeconds * 1000),
      sessionKind: claims.ok ? claims.claims.session_kind : "user",
      linkCode: consent.linkCode,
    };
  }

  async #sendSafely(batch: (MintedShare & { attempts: number })[]): Promise<void> {
    try {
      await this.#send(batch);
    } catch (error) {
      // Unexpected (e.g. Postgres or Redis down): keep the rows and try again after a backoff.
      this.deps.logger.error(
        { ...safeErrorFields(error), shares: batch.length },
        "sending a batch failed; will retry",
      );
      const reason = String((error as Error).message ?? error);
      await this.#rescheduleOrLeave(
        batch.map((minted) => ({ shareId: minted.share.shareId, attempts: minted.attempts })),
        reason,
      );
    }
  }

  async #revokeSafely(claimed: Claimed): Promise<void> {
    try {
      await this.#sendRevocation(claimed);
    } catch (error) {
      this.deps.logger.error(
        { ...safeErrorFields(error), share_id: claimed.shareId },
        "sending a revocation failed; will retry",
      );
      await this.#rescheduleOrLeave([claimed], String((error as Error).message ?? error));
    }
  }

  /**
   * Tells partner-b that the share's consent ended, until a result acknowledges it (the reconciler
   * queues a re-send when none comes). The envelope outlives any offer still in flight.
   */
  async #sendRevocation(claimed: Claimed): Promise<void> {
    const { share, consent } = claimed;
    const done = () =>
      this.deps.db.delete(shareDispatches).where(eq(shareDispatches.shareId, claimed.shareId));
    if (!share?.revokedAt || share.revokeAckedAt || !this.deps.registry.find(share.audience)) {
      await done();
      return;
    }
    const reason = consent?.withdrawnAt ? "consent_withdrawn" : "consent_expired";
    const now = this.deps.clock.now();
    await this.deps.channel.sendShareRevoke({
      audience: share.audience,
      shareId: share.shareId,
      expiresAt: new Date(now.getTime() + REVOCATION_ENVELOPE_SECONDS * 1000),
      payload: { reason, revoked_at: share.revokedAt.toISOString() },
    });
    await this.deps.db.transaction(async (tx) => {
      await tx
        .update(shares)
        .set({ revokeSentAt: sql`now()`, revokeSends: sql`${shares.revokeSends} + 1` })
        .where(eq(shares.shareId, share.shareId));
      await tx.delete(shareDispatches).where(eq(shareDispatches.shareId, share.shareId));
      await this.deps.audit.record(tx, {
        ...shareAuditContext(share),
        action: "share.revoke_sent",
        outcome: reason,
        details: { sends: share.revokeSends + 1 },
      });
    });
  }

  /**
   * Reschedules shares after an unexpected failure. When that fails too (the database is what broke),
   * the rows keep their lease and a later pass claims them once it lapses; the failure is logged and
   * counted (dispatch_reschedule), never dropped.
   */
  async #rescheduleOrLeave(rows: Pick<Claimed, "shareId" | "attempts">[], reason: string): Promise<void> {
    const outcomes = await Promise.allSettled(rows.map((row) => this.#reschedule(row, reason)));
    const failed = outcomes.filter((outcome) => outcome.status === "rejected");
    const [first] = failed;
    if (first) this.deps.fallbacks.record("dispatch_reschedule", first.reason, failed.length);
  }

  async #send(batch: MintedShare[]): Promise<void> {
    const recorded = await recordMints(this.deps.db, this.deps.audit, batch);
    failpoint("after-mint");
    const toSend = batch.filter((minted) => recorded.has(minted.share.shareId));
    if (toSend.length === 0) return;
    await this.deps.db.transaction(async (tx) => {
      const sendable = await lockSendable(
        tx,
        toSend.map((minted) => minted.share.shareId),
      );
      const sends = await Promise.allSettled(
        toSend.flatMap((minted) => {
          const status = sendable.get(minted.share.shareId);
          return status ? [this.#enqueue(minted, status)] : [];
        }),
      );
      const failed = sends.find((send) => send.status === "rejected");
      if (failed) throw failed.reason;
      const events = sends.flatMap((send) => (send.status === "fulfilled" ? [send.value] : []));
      await markSent(
        tx,
        this.deps.audit,
        events.map((event) => event.shareId as string),
        toSend.map((minted) => minted.share.shareId),
        events,
      );
    });
  }

  /** Seals the token for the audience and queues it; returns the audit event of the send. */
  async #enqueue(minted: MintedShare, status: "minted" | "sent"): Promise<AuditEntry> {
    const { share, token, tokenExpiresAt, sessionKind, linkCode } = minted;
    const { added } = await this.deps.channel.sendShareOffer({
      audience: share.audience,
      shareId: share.shareId,
      expiresAt: tokenExpiresAt,
      redrive: status === "sent",
      payload: {
        share_token: token,
        session_kind: sessionKind,
        purpose: share.purpose,
        scope: share.scope,
        consent_id: share.consentId,
        link_code: linkCode,
        user_pseudonym: this.deps.pseudonyms.forAudience(share.audience, share.userId),
        token_expires_at: tokenExpiresAt.toISOString(),
      },
    });
    return {
      ...shareAuditContext({ ...share, tokenId: minted.tokenId, tokenExpiresAt }),
      action: status === "sent" ? "share.redriven" : "share.sent",
      outcome: added ? "enqueued" : "already_queued",
    };
  }

  async #finish(share: ShareRow, status: "failed" | "cancelled", reason: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(shares)
        .set({ status, reason, updatedAt: sql`now()` })
        .where(and(eq(shares.shareId, share.shareId), inArray(shares.status, ["accepted", "minted"])))
        .returning();
      await tx.delete(shareDispatches).where(eq(shareDispatches.shareId, share.shareId));
      if (updated) {
        await this.deps.audit.record(tx, {
          ...shareAuditContext(updated),
          action: status === "failed" ? "share.failed" : "share.cancelled",
          outcome: reason,
        });
      }
    });
  }

  async #reschedule(claimed: Pick<Claimed, "shareId" | "attempts">, lastError: string): Promise<void> {
    await this.deps.db
      .update(shareDispatches)
      .set({
        dueAt: sql`now() + make_interval(secs => ${backoffSeconds(claimed.attempts)})`,
        leasedUntil: null,
        lastError: lastError.slice(0, 500),
      })
      .where(eq(shareDispatches.shareId, claimed.shareId));
  }
}
