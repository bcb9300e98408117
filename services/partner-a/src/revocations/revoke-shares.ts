import type { RevocationReason } from "@share-broker/channel";
import { and, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Executor } from "../db/database.js";
import { shareDispatches, shares } from "../db/schema/index.js";
import { shareAuditContext } from "../shares/share-audit-context.js";

/** Shares whose token has left partner-a: only partner-b can stop them now, so it is told. */
export const REVOCABLE_SHARE_STATES = ["sent", "expired", "imported"] as const;

/**
 * Revokes, in the caller's transaction, the shares `where` selects among those whose token left
 * partner-a and that are not revoked yet: a sent or expired share becomes `revoked` (it is never
 * minted, sent or redriven again), an imported one keeps its status and only records the
 * revocation, which partner-b marks on its import. Each gets an outbox row, due now, from which the
 * dispatcher sends the share-revoke, and a `share.revoked` audit event. Returns the revoked ids.
 */
export async function revokeShares(
  tx: Executor,
  audit: AuditLog,
  where: SQL,
  reason: RevocationReason,
  requestId?: string,
): Promise<string[]> {
  const revoked = await tx
    .update(shares)
    .set({
      status: sql`case when ${shares.status} = 'imported' then 'imported' else 'revoked' end`,
      reason: sql`case when ${shares.status} = 'imported' then ${shares.reason} else ${reason} end`,
      revokedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(where, inArray(shares.status, [...REVOCABLE_SHARE_STATES]), isNull(shares.revokedAt)))
    .returning();
  if (revoked.length === 0) return [];
  await tx
    .insert(shareDispatches)
    .values(revoked.map((share) => ({ shareId: share.shareId })))
    .onConflictDoUpdate({ target: shareDispatches.shareId, set: { dueAt: sql`now()`, leasedUntil: null } });
  await audit.recordMany(
    tx,
    revoked.map((share) => ({
      ...shareAuditContext(share),
      action: "share.revoked" as const,
      outcome: reason,
      requestId,
      details: { status: share.status },
    })),
  );
  return revoked.map((share) => share.shareId);
}
