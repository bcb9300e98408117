import { randomUUID } from "node:crypto";
import type { RevocationReason } from "@share-broker/channel";
import { isTerminalImportState } from "@share-broker/contracts";
import { and, eq, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { enqueueResult, hasPendingResult } from "../results/result-outbox.js";
import { importAuditContext } from "./import-row.js";

export interface Revocation {
  sourcePartner: string;
  shareId: string;
  reason: RevocationReason;
  revokedAt: Date;
  jobId: string;
}

/** What a revocation did to the share's import. */
export type RevocationOutcome =
  /** Arrived before its offer: a revoked receipt now stands in for the import, which never happens. */
  | "before_offer"
  /** The import had not finished: it is revoked; a Didit import in flight is undone by its worker. */
  | "revoked"
  /** The import had finished as imported: it keeps its copy and records the consent's withdrawal. */
  | "noted"
  /** Already revoked or noted, or ended without an import: the sharer is answered again. */
  | "already";

/**
 * Applies the sharer's share-revoke in one transaction, with its audit event and a result that
 * acknowledges it (`consent_withdrawn_at` set). The receipt row is the one place a share's fate is
 * decided, unique per (source, share id): a revocation that comes first inserts it as `revoked`, so
 * the offer's receipt conflicts, finds a finished import and imports nothing; one that comes later
 * takes the row lock, so it serialises with every step that finishes the import.
 */
export async function revokeImport(db: Database, audit: AuditLog, revocation: Revocation) {
  const now = new Date();
  return db.transaction(async (tx): Promise<RevocationOutcome> => {
    const [tombstone] = await tx
      .insert(imports)
      .values({
        importId: randomUUID(),
        sourcePartner: revocation.sourcePartner,
        shareId: revocation.shareId,
        status: "revoked",
        reason: revocation.reason,
        // Nothing of the user or the token ever reached partner-b for this share.
        vendorData: null,
        tokenHash: "",
        tokenId: "",
        tokenExpiresAt: revocation.revokedAt,
        consentWithdrawnAt: revocation.revokedAt,
        decidedAt: now,
      })
      .onConflictDoNothing({ target: [imports.sourcePartner, imports.shareId] })
      .returning();
    if (tombstone) {
      await finish(tombstone, "before_offer");
      return "before_offer";
    }
    const [row] = await tx
      .select()
      .from(imports)
      .where(
        and(eq(imports.sourcePartner, revocation.sourcePartner), eq(imports.shareId, revocation.shareId)),
      )
      .for("update");
    if (!row) throw new Error("import receipt vanished under a revocation");
    if (row.consentWithdrawnAt) {
      if (!(await hasPendingResult(tx, row.importId))) await enqueueResult(tx, row, "resend", now);
      await audit.record(tx, {
        ...importAuditContext(row),
        action: "import.replayed",
        outcome: "revocation_again",
        details: { job_id: revocation.jobId },
      });
      return "already";
    }
    const open = !isTerminalImportState(row.status);
    const [updated] = await tx
      .update(imports)
      .set({
        consentWithdrawnAt: revocation.revokedAt,
        updatedAt: sql`now()`,
        ...(open
          ? {
              status: "revoked" as const,
              reason: revocation.reason,
              decidedAt: now,
              leaseOwner: null,
              leasedUntil: null,
              // A delivery may be in Didit's import right now, or have died after it: look later.
              revokedCopyCheckAt: row.attempts > 0 ? now : null,
            }
          : {}),
      })
      .where(eq(imports.importId, row.importId))
      .returning();
    if (!updated) throw new Error("import vanished under its row lock");
    const outcome: RevocationOutcome = open ? "revoked" : row.status === "imported" ? "noted" : "already";
    await finish(updated, outcome);
    return outcome;

    async function finish(finished: typeof imports.$inferSelect, result: RevocationOutcome) {
      await enqueueResult(tx, finished, "outcome", now);
      await audit.record(tx, {
        ...importAuditContext(finished),
        action: result === "noted" ? "import.consent_withdrawn" : "import.revoked",
        outcome: revocation.reason,
        details: { job_id: revocation.jobId, revocation: result },
      });
    }
  });
}

/** A Didit copy of a revoked import was deleted: the row stops waiting for a check, and it is audited. */
export async function recordRevokedCopyDeleted(
  db: Database,
  audit: AuditLog,
  row: typeof imports.$inferSelect,
  sessionId: string | null,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.update(imports).set({ revokedCopyCheckAt: null }).where(eq(imports.importId, row.importId));
    if (sessionId === null) return;
    await audit.record(tx, {
      ...importAuditContext(row),
      action: "import.revoked_copy_deleted",
      outcome: "deleted",
      details: { didit_session_id: sessionId },
    });
  });
}
