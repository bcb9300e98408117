import type { ImportResultPayload } from "@share-broker/channel";
import { eq, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { shareDispatches, shares } from "../db/schema/index.js";

export type ResultOutcome = "applied" | "duplicate" | "unknown_share" | "wrong_source" | "ignored";

const SHARE_STATUS_FOR: Record<ImportResultPayload["outcome"], string> = {
  imported: "imported",
  rejected: "rejected",
  failed: "failed",
};

/**
 * Applies a partner's signed import result to the share, idempotently. Only the share's own
 * audience may report on it. A late "imported" still wins over "expired": the import happened.
 */
export async function applyImportResult(
  db: Database,
  audit: AuditLog,
  source: string,
  result: ImportResultPayload,
): Promise<ResultOutcome> {
  return db.transaction(async (tx) => {
    const [share] = await tx.select().from(shares).where(eq(shares.shareId, result.share_id)).for("update");
    const context = share
      ? {
          userId: share.userId,
          audience: share.audience,
          purpose: share.purpose,
          scope: share.scope,
          shareId: share.shareId,
          tokenId: share.tokenId,
          tokenExpiresAt: share.tokenExpiresAt,
        }
      : { audience: source, details: { share_id: result.share_id } };
    if (!share || share.audience !== source) {
      const outcome = share ? "wrong_source" : "unknown_share";
      await audit.record(tx, { ...context, action: "share.result_rejected", outcome, details: { source } });
      return outcome;
    }
    const next = SHARE_STATUS_FOR[result.outcome];
    const sameAsRecorded =
      share.status === next &&
      share.importStatus === result.outcome &&
      share.importSessionStatus === (result.session_status ?? null);
    if (sameAsRecorded) return "duplicate";
    const open = ["accepted", "minted", "sent"].includes(share.status);
    const lateImport = share.status === "expired" && result.outcome === "imported";
    const refresh = share.status === next; // e.g. a review changed the imported session's status
    if (!open && !lateImport && !refresh) {
      await audit.record(tx, { ...context, action: "share.result_ignored", outcome: result.outcome });
      return "ignored";
    }
    await tx
      .update(shares)
      .set({
        status: next,
        reason: result.outcome === "imported" ? null : (result.reason ?? null),
        importStatus: result.outcome,
        importSessionStatus: result.session_status ?? null,
        importReason: result.reason ?? null,
        importAt: new Date(result.at),
        updatedAt: sql`now()`,
      })
      .where(eq(shares.shareId, share.shareId));
    await tx.delete(shareDispatches).where(eq(shareDispatches.shareId, share.shareId));
    await audit.record(tx, {
      ...context,
      action: lateImport ? "share.result_late" : "share.result",
      outcome: result.outcome,
      details: { session_status: result.session_status ?? null, reason: result.reason ?? null },
    });
    return "applied";
  });
}
