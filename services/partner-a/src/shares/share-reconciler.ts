import { type Logger, PeriodicTask } from "@share-broker/service-kit";
import { and, eq, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { OutboundChannel } from "../channel/outbound-channel.js";
import type { Database } from "../db/database.js";
import { shareDispatches, shares } from "../db/schema/index.js";
import { revokeShares } from "../revocations/revoke-shares.js";
import { shareAuditContext } from "./share-audit-context.js";

export interface ReconcilerOptions {
  intervalMs: number;
  resultGraceSeconds: number;
  redriveAfterSeconds: number;
  maxRedrives: number;
}

/**
 * Postgres is the truth and Redis only a transport. Each pass:
 * 1. gives every accepted or minted share an outbox row again if it lost one;
 * 2. re-sends a sent share whose offer Redis no longer holds, or whose offer was consumed but
 *    whose result never came back (the receiver dedups on share id and answers again);
 * 3. expires sent shares never acknowledged by their token expiry plus a grace period;
 * 4. revokes sent shares whose consent expired meanwhile, and re-sends a revocation partner-b has
 *    not acknowledged after the redrive delay (at most maxRedrives more times).
 */
export class ShareReconciler {
  readonly #task: PeriodicTask;

  constructor(
    private readonly deps: {
      db: Database;
      channel: OutboundChannel;
      audit: AuditLog;
      logger: Logger;
      wake: () => void;
    },
    private readonly options: ReconcilerOptions,
  ) {
    this.#task = new PeriodicTask("share reconciler", () => this.runOnce(), options.intervalMs, deps.logger);
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
  }

  async runOnce(): Promise<{ requeued: number; redriven: number; expired: number; revoked: number }> {
    const revoked = await this.#revokeExpiredConsents();
    const requeued = (await this.#requeueOrphans()) + (await this.#resendUnacknowledgedRevocations());
    const redriven = await this.#redriveLost();
    const expired = await this.#expireUnacknowledged();
    if (requeued + redriven + revoked > 0) this.deps.wake();
    if (requeued + redriven + expired + revoked > 0) {
      this.deps.logger.info({ requeued, redriven, expired, revoked }, "reconciler pass");
    }
    return { requeued, redriven, expired, revoked };
  }

  /** Sent shares whose consent expired: revoked, so no redrive re-sends them and partner-b drops them. */
  async #revokeExpiredConsents(): Promise<number> {
    const revoked = await this.deps.db.transaction((tx) =>
      revokeShares(
        tx,
        this.deps.audit,
        and(
          eq(shares.status, "sent"),
          sql`exists (select 1 from consents c where c.consent_id = ${shares.consentId} and c.expires_at <= now())`,
        ) as SQL,
        "consent_expired",
      ),
    );
    return revoked.length;
  }

  /**
   * A revocation partner-b has not acknowledged (the envelope or its answer was lost) goes out again
   * once the redrive delay has passed, at most maxRedrives more times.
   */
  async #resendUnacknowledgedRevocations(): Promise<number> {
    const result = await this.deps.db.execute(sql`
      insert into share_dispatches (share_id)
      select share_id from shares s
      where s.revoked_at is not null and s.revoke_acked_at is null
        and s.revoke_sends <= ${this.options.maxRedrives}
        and (s.revoke_sent_at is null
             or s.revoke_sent_at < now() - make_interval(secs => ${this.options.redriveAfterSeconds}))
        and not exists (select 1 from share_dispatches d where d.share_id = s.share_id)
      on conflict do nothing`);
    return result.rowCount ?? 0;
  }

  async #requeueOrphans(): Promise<number> {
    const result = await this.deps.db.execute(sql`
      insert into share_dispatches (share_id)
      select share_id from shares s
      where s.status in ('accepted', 'minted')
        and not exists (select 1 from share_dispatches d where d.share_id = s.share_id)
      on conflict do nothing`);
    return result.rowCount ?? 0;
  }

  async #redriveLost(): Promise<number> {
    const { db, channel } = this.deps;
    const candidates = await db
      .select()
      .from(shares)
      .where(
        and(
          eq(shares.status, "sent"),
          lt(shares.sentAt, sql`now() - make_interval(secs => ${this.options.redriveAfterSeconds})`),
          sql`${shares.tokenExpiresAt} > now()`,
          lt(shares.redrives, this.options.maxRedrives),
          or(
            isNull(shares.lastRedriveAt),
            lt(shares.lastRedriveAt, sql`now() - make_interval(secs => ${this.options.redriveAfterSeconds})`),
          ),
        ),
      )
      .limit(500);
    let redriven = 0;
    for (const share of candidates) {
      const state = await channel.inboxJobState(share.audience, share.shareId);
      if (state === "pending") continue;
      await db.transaction(async (tx) => {
        const [updated] = await tx
          .update(shares)
          .set({ redrives: sql`${shares.redrives} + 1`, lastRedriveAt: sql`now()` })
          .where(and(eq(shares.shareId, share.shareId), eq(shares.status, "sent")))
          .returning();
        if (!updated) return;
        await tx.insert(shareDispatches).values({ shareId: share.shareId }).onConflictDoNothing();
        await this.deps.audit.record(tx, {
          ...shareAuditContext(share),
          action: "share.redrive_scheduled",
          outcome: `offer_${state}`,
        });
        redriven += 1;
      });
    }
    return redriven;
  }

  async #expireUnacknowledged(): Promise<number> {
    return this.deps.db.transaction(async (tx) => {
      const expired = await tx
        .update(shares)
        .set({ status: "expired", reason: "no_result_before_token_expiry", updatedAt: sql`now()` })
        .where(
          and(
            eq(shares.status, "sent"),
            sql`${shares.tokenExpiresAt} + make_interval(secs => ${this.options.resultGraceSeconds}) < now()`,
          ),
        )
        .returning();
      await this.deps.audit.recordMany(
        tx,
        expired.map((share) => ({
          ...shareAuditContext(share),
          action: "share.expired",
          outcome: "no_result_before_token_expiry",
        })),
      );
      return expired.length;
    });
  }
}
