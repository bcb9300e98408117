import { createHash } from "node:crypto";
import type { PartnerRegistry } from "@share-broker/channel";
import { type DiditClient, DiditError, decodeShareTokenClaims, shareTokenId } from "@share-broker/didit";
import { type Clock, DrainLoop, failpoint, type Logger, rowMapper } from "@share-broker/service-kit";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Pseudonymizer } from "../audit/pseudonym.js";
import type { OutboundChannel } from "../channel/outbound-channel.js";
import type { Database } from "../db/database.js";
import { shareDispatches, shares } from "../db/schema/index.js";

export interface DispatcherOptions {
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
  maxAttempts: number;
}

type ShareRow = typeof shares.$inferSelect;

/** An outbox row leased by this pass, read together with its share and the consent's state. */
interface Claimed {
  shareId: string;
  attempts: number;
  share: ShareRow | undefined;
  consent: { withdrawnAt: Date | null; expiresAt: Date } | undefined;
}

const shareFromRow = rowMapper(shares);

/** A timestamptz from a raw row: a string or a Date depending on the driver's type parsers. */
function asDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

/** Backoff between mint attempts on transient Didit errors: 1 s, 2 s, 4 s … capped at 60 s. */
function backoffSeconds(attempts: number): number {
  return Math.min(60, 2 ** Math.max(0, attempts - 1));
}

/**
 * Drains the outbox (share_dispatches): mints the Didit share token right before sending, seals
 * it, and puts it on the audience's inbox queue with jobId = share id. Rows are leased, so a
 * dispatcher that dies mid-way (after minting, before enqueueing) leaves a row another pass
 * re-drives once the lease lapses; the receiver's dedup on share id makes a resend harmless.
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
    const claimed = await this.#claim(this.options.concurrency);
    await Promise.all(claimed.map((row) => this.#dispatchSafely(row)));
    return claimed.length >= this.options.concurrency;
  }

  /** Leases due rows and reads their shares and consents in the same statement: one round trip per batch. */
  async #claim(limit: number): Promise<Claimed[]> {
    const result = await this.deps.db.execute(sql`
      with claimed as (
        update share_dispatches set leased_until = now() + make_interval(secs => ${this.options.leaseSeconds}),
               attempts = attempts + 1
        where share_id in (
          select share_id from share_dispatches
          where due_at <= now() and (leased_until is null or leased_until < now())
          order by due_at limit ${limit} for update skip locked)
        returning share_id, attempts)
      select claimed.share_id as claimed_share_id, claimed.attempts as claimed_attempts,
             c.withdrawn_at as consent_withdrawn_at, c.expires_at as consent_expires_at, s.*
      from claimed
      left join shares s on s.share_id = claimed.share_id
      left join consents c on c.consent_id = s.consent_id`);
    return result.rows.map((row) => ({
      shareId: String(row.claimed_share_id),
      attempts: Number(row.claimed_attempts),
      share: row.share_id === null ? undefined : shareFromRow(row),
      consent:
        row.consent_expires_at === null
          ? undefined
          : {
              withdrawnAt: row.consent_withdrawn_at === null ? null : asDate(row.consent_withdrawn_at),
              expiresAt: asDate(row.consent_expires_at),
            },
    }));
  }

  async #dispatchSafely(claimed: Claimed): Promise<void> {
    try {
      await this.#dispatch(claimed);
    } catch (error) {
      // Unexpected (e.g. Postgres or Redis down): keep the row and try again after a backoff.
      this.deps.logger.error({ err: error, share_id: claimed.shareId }, "dispatch failed; will retry");
      await this.#reschedule(claimed, String((error as Error).message ?? error)).catch(() => undefined);
    }
  }

  async #dispatch(claimed: Claimed): Promise<void> {
    const { share, consent } = claimed;
    if (!share || !consent || !["accepted", "minted", "sent"].includes(share.status)) {
      await this.deps.db.delete(shareDispatches).where(eq(shareDispatches.shareId, claimed.shareId));
      return;
    }
    const now = this.deps.clock.now();
    if (share.status !== "sent" && (consent.withdrawnAt || consent.expiresAt <= now)) {
      await this.#finish(share, "cancelled", consent.withdrawnAt ? "consent_withdrawn" : "consent_expired");
      return;
    }
    const partner = this.deps.registry.find(share.audience);
    if (!partner) {
      await this.#finish(share, "failed", "audience_not_configured");
      return;
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
        return;
      }
      const reason =
        error instanceof DiditError ? `didit_share_failed_${error.status ?? "network"}` : "mint_failed";
      this.deps.logger.warn(
        { err: error, share_id: share.shareId },
        "minting the share token failed for good",
      );
      await this.#finish(share, "failed", reason);
      return;
    }
    const claims = decodeShareTokenClaims(token);
    const tokenExpiresAt = claims.ok
      ? new Date(claims.claims.exp * 1000)
      : new Date(now.getTime() + share.ttlSeconds * 1000);
    const minted = await this.#recordMint(share, token, tokenExpiresAt);
    if (!minted) return;
    failpoint("after-mint");
    await this.#send(minted, token, tokenExpiresAt, claims.ok ? claims.claims.session_kind : "user");
  }

  /**
   * Records the mint (hash, token id, expiry) and its audit event in one statement that commits
   * before the token leaves: a dispatcher killed after this still left a trace of every token.
   */
  async #recordMint(share: ShareRow, token: string, tokenExpiresAt: Date): Promise<ShareRow | undefined> {
    const tokenHash = createHash("sha256").update(token).digest("hex");
    const tokenId = shareTokenId(token);
    const result = await this.deps.db.execute(sql`
      with minted as (
        update shares set status = case when status = 'sent' then 'sent' else 'minted' end,
               token_hash = ${tokenHash}, token_id = ${tokenId}, token_expires_at = ${tokenExpiresAt}::timestamptz,
               updated_at = now()
        where share_id = ${share.shareId}::uuid and status in ('accepted', 'minted', 'sent')
        returning *),
      audit as (${this.deps.audit.insertPerRowOf("minted", {
        ...this.#auditContext({ ...share, tokenId, tokenExpiresAt }),
        action: "share.minted",
        outcome: share.status === "sent" ? "reminted_for_redrive" : "minted",
      })})
      select * from minted`);
    const minted = result.rows[0];
    if (!minted) {
      await this.deps.db.delete(shareDispatches).where(eq(shareDispatches.shareId, share.shareId));
      return undefined;
    }
    return shareFromRow(minted);
  }

  async #send(share: ShareRow, token: string, tokenExpiresAt: Date, sessionKind: "user" | "business") {
    await this.deps.db.transaction(async (tx) => {
      // The row lock orders this against a consent withdrawal: the share is sent or cancelled, not both.
      const locked = await tx.execute<{ status: string }>(
        sql`select status from shares where share_id = ${share.shareId}::uuid for update`,
      );
      const status = locked.rows[0]?.status;
      if (status !== "minted" && status !== "sent") {
        await tx.delete(shareDispatches).where(eq(shareDispatches.shareId, share.shareId));
        return;
      }
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
          recipient_ref: share.recipientRef ?? undefined,
          user_pseudonym: this.deps.pseudonyms.of(share.userId),
          token_expires_at: tokenExpiresAt.toISOString(),
        },
      });
      // Status, outbox and audit in one statement: the transaction costs four round trips, not six.
      await tx.execute(sql`
        with sent as (
          update shares set status = 'sent', sent_at = coalesce(sent_at, now()), updated_at = now()
          where share_id = ${share.shareId}::uuid
          returning share_id),
        dispatch as (delete from share_dispatches where share_id = ${share.shareId}::uuid),
        audit as (${this.deps.audit.insertPerRowOf("sent", {
          ...this.#auditContext(share),
          action: status === "sent" ? "share.redriven" : "share.sent",
          outcome: added ? "enqueued" : "already_queued",
        })})
        select 1`);
    });
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
          ...this.#auditContext(updated),
          action: status === "failed" ? "share.failed" : "share.cancelled",
          outcome: reason,
        });
      }
    });
  }

  async #reschedule(claimed: Claimed, lastError: string): Promise<void> {
    await this.deps.db
      .update(shareDispatches)
      .set({
        dueAt: sql`now() + make_interval(secs => ${backoffSeconds(claimed.attempts)})`,
        leasedUntil: null,
        lastError: lastError.slice(0, 500),
      })
      .where(eq(shareDispatches.shareId, claimed.shareId));
  }

  #auditContext(share: ShareRow) {
    return {
      userId: share.userId,
      audience: share.audience,
      purpose: share.purpose,
      scope: share.scope,
      shareId: share.shareId,
      tokenId: share.tokenId,
      tokenExpiresAt: share.tokenExpiresAt,
    };
  }
}
