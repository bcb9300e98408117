import { type ImportErased, OPEN_IMPORT_STATES } from "@share-broker/contracts";
import { type DiditClient, DiditNotFoundError, upstreamFailureAnswer } from "@share-broker/didit";
import { AppError, answerError, type Logger } from "@share-broker/service-kit";
import { and, eq, isNull, notInArray, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { imports, linkRequests } from "../db/schema/index.js";
import { type ImportRow, importAuditContext } from "./import-row.js";

/** What an erased import holds instead of its vendor_data: no request can name it (vendor_data filters are 1+ characters). */
export const ERASED_VENDOR_DATA = "";

/** A delivery may still be working on these (received, importing): erasing would race its import. */
const IN_FLIGHT = OPEN_IMPORT_STATES;

export interface EraseImportDeps {
  db: Database;
  didit: DiditClient;
  audit: AuditLog;
  logger: Logger;
}

function answered(row: ImportRow, erasedAt: Date): ImportErased {
  return {
    import_id: row.importId,
    status: row.status,
    deleted_didit_session: row.diditSessionId,
    erased_at: erasedAt.toISOString(),
  };
}

/**
 * A copy Didit made although the import did not record it (its answer was lost and the import
 * ended rejected or failed): our session under the import's vendor_data that was shared from the
 * token's source session, unless another import of ours owns it.
 */
async function unrecordedCopyOf(db: Database, didit: DiditClient, row: ImportRow): Promise<string | null> {
  if (!row.claimedSourceSession || !row.vendorData) return null;
  const source = row.claimedSourceSession.toLowerCase();
  let page: Awaited<ReturnType<DiditClient["listSessions"]>>;
  try {
    page = await didit.listSessions({ vendor_data: row.vendorData, limit: 100 });
  } catch (error) {
    const answer = upstreamFailureAnswer(error);
    throw answer ? answerError(answer, error) : error;
  }
  const match = page.results.find((session) => session.shared_from_session?.toLowerCase() === source);
  if (!match) return null;
  const [owner] = await db
    .select({ importId: imports.importId })
    .from(imports)
    .where(eq(imports.diditSessionId, match.session_id));
  return owner ? null : match.session_id;
}

/** Deletes partner-b's Didit copy; one Didit no longer has (404) counts as deleted. */
async function deleteCopy(didit: DiditClient, sessionId: string, logger: Logger): Promise<void> {
  try {
    await didit.deleteSession(sessionId);
  } catch (error) {
    if (error instanceof DiditNotFoundError) return;
    logger.warn(
      { didit_session_id: sessionId, didit_status: (error as { status?: unknown }).status ?? null },
      "erasure: Didit refused to delete the imported copy; import left as it was",
    );
    const answer = upstreamFailureAnswer(error);
    throw answer ? answerError(answer, error) : error;
  }
}

/**
 * Erases one import (docs/OPERATIONS.md#erasure-request): deletes partner-b's Didit copy first (a
 * Didit failure answers 503/502 and changes nothing here), then in one transaction clears every
 * column that refers to the user (vendor_data, the sharer's pseudonym, consent id,
 * source session ids), removes vendor_data from the import's audit details and records
 * `import.erased`. The import id, share id, state and policy stay: the sharer's result and a
 * redelivered offer still need them. Erasing again answers the first erasure.
 */
export async function eraseImport(
  deps: EraseImportDeps,
  importId: string,
  requestId: string,
): Promise<ImportErased> {
  const { db, didit, audit, logger } = deps;
  const [row] = await db.select().from(imports).where(eq(imports.importId, importId));
  if (!row) throw new AppError(404, "import_not_found", "No import with this id.");
  if (row.erasedAt) return answered(row, row.erasedAt);
  if ((IN_FLIGHT as readonly string[]).includes(row.status)) {
    throw new AppError(
      409,
      "import_in_flight",
      `This import is still ${row.status}; erase it once it is imported, rejected or failed.`,
    );
  }
  const copy = row.diditSessionId ?? (await unrecordedCopyOf(db, didit, row));
  if (copy) await deleteCopy(didit, copy, logger);

  return db.transaction(async (tx) => {
    const [erased] = await tx
      .update(imports)
      .set({
        vendorData: ERASED_VENDOR_DATA,
        // Kept (and filled in for an unrecorded copy): a session id names no one, and a late webhook
        // of the deleted copy still finds its import instead of nothing.
        diditSessionId: copy,
        userPseudonym: null,
        consentId: null,
        claimedSourceSession: null,
        sharedFromSession: null,
        lastError: null,
        erasedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(imports.importId, importId),
          isNull(imports.erasedAt),
          notInArray(imports.status, [...IN_FLIGHT]),
        ),
      )
      .returning();
    if (!erased?.erasedAt) {
      // Another erasure got there first (answer it), or a redelivery took the import back meanwhile.
      const [now] = await tx.select().from(imports).where(eq(imports.importId, importId));
      if (now?.erasedAt) return answered(now, now.erasedAt);
      throw new AppError(
        409,
        "import_in_flight",
        "This import was taken by a delivery meanwhile; retry later.",
      );
    }
    // The link request the import redeemed names the same user (its user_ref became vendor_data).
    if (erased.linkId) {
      await tx
        .update(linkRequests)
        .set({ userRef: ERASED_VENDOR_DATA })
        .where(eq(linkRequests.linkId, erased.linkId));
    }
    // The receipt's audit event named vendor_data; the trigger lets exactly this change through.
    await tx.execute(sql`select set_config('share_broker.audit_erasure', 'on', true)`);
    await tx.execute(sql`update audit_events set details = details - 'vendor_data'
      where import_id = ${importId} and details ? 'vendor_data'`);
    await audit.record(tx, {
      ...importAuditContext(row),
      action: "import.erased",
      outcome: "erased",
      requestId,
      details: { deleted_didit_session: copy },
    });
    logger.info({ import_id: importId, deleted_didit_session: copy }, "import erased");
    return answered(erased, erased.erasedAt);
  });
}
