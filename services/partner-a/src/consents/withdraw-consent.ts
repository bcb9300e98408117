import { AppError } from "@share-broker/service-kit";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { consents, shareDispatches, shares } from "../db/schema/index.js";
import { revokeShares } from "../revocations/revoke-shares.js";

/**
 * Withdraws a consent: its shares that have not been sent yet are cancelled, and those whose token
 * already left are revoked (revokeShares: partner-b is told, and nothing is minted, sent or
 * redriven for them again). The dispatcher locks a share row before it enqueues, so a share is
 * either sent before this runs (and revoked by it) or cancelled by it.
 */
export async function withdrawConsent(db: Database, audit: AuditLog, consentId: string, requestId: string) {
  return db.transaction(async (tx) => {
    const [consent] = await tx.select().from(consents).where(eq(consents.consentId, consentId)).for("update");
    if (!consent) throw new AppError(404, "consent_not_found", "No consent with this id.");
    if (consent.withdrawnAt) {
      return { consent, cancelledShareIds: [] as string[], revokedShareIds: [] as string[] };
    }
    const [withdrawn] = await tx
      .update(consents)
      .set({ withdrawnAt: sql`now()` })
      .where(eq(consents.consentId, consentId))
      .returning();
    const cancelled = await tx
      .update(shares)
      .set({ status: "cancelled", reason: "consent_withdrawn", updatedAt: sql`now()` })
      .where(and(eq(shares.consentId, consentId), inArray(shares.status, ["accepted", "minted"])))
      .returning({ shareId: shares.shareId, tokenId: shares.tokenId, tokenExpiresAt: shares.tokenExpiresAt });
    if (cancelled.length > 0) {
      await tx.delete(shareDispatches).where(
        inArray(
          shareDispatches.shareId,
          cancelled.map((share) => share.shareId),
        ),
      );
    }
    const revokedShareIds = await revokeShares(
      tx,
      audit,
      eq(shares.consentId, consentId),
      "consent_withdrawn",
      requestId,
    );
    const context = {
      userId: consent.userId,
      audience: consent.audience,
      purpose: consent.purpose,
      scope: consent.scope,
      requestId,
    };
    await audit.recordMany(tx, [
      { ...context, action: "consent.withdrawn", outcome: "withdrawn", details: { consent_id: consentId } },
      ...cancelled.map((share) => ({
        ...context,
        action: "share.cancelled" as const,
        outcome: "consent_withdrawn",
        shareId: share.shareId,
        tokenId: share.tokenId,
        tokenExpiresAt: share.tokenExpiresAt,
      })),
    ]);
    return {
      consent: withdrawn ?? consent,
      cancelledShareIds: cancelled.map((share) => share.shareId),
      revokedShareIds,
    };
  });
}
