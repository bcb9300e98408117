import type { ReviewDecision } from "@share-broker/contracts";
import { type DiditClient, SessionStatus, upstreamFailureAnswer } from "@share-broker/didit";
import { AppError, answerError } from "@share-broker/service-kit";
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { type ImportRow, importAuditContext } from "./import-row.js";

/** How long a review request blocks another one while Didit's answer (the webhook) is awaited. */
const REVIEW_PENDING_SECONDS = 60;

/**
 * B's compliance decides an imported session that landed "In Review" (docs/ARCHITECTURE.md#the-flow, step 7).
 * The decision goes to Didit's update-status; the new status arrives by webhook, like any other change.
 */
export async function requestReview(
  db: Database,
  didit: DiditClient,
  audit: AuditLog,
  input: { importId: string; decision: ReviewDecision; comment?: string; requestId: string },
): Promise<ImportRow> {
  const [row] = await db.select().from(imports).where(eq(imports.importId, input.importId));
  if (!row) throw new AppError(404, "import_not_found", "No import with this id.");
  // An erased import's Didit copy is gone: nothing is left to review.
  const reviewable = row.status === "imported" && row.diditStatus === SessionStatus.InReview && !row.erasedAt;
  if (!reviewable || !row.diditSessionId) {
    throw new AppError(
      409,
      "not_in_review",
      `Only an imported session that is "In Review" can be reviewed; this one is ${row.status}${
        row.diditStatus ? ` / "${row.diditStatus}"` : ""
      }.`,
    );
  }
  // One review at a time: the claim is taken before Didit is called and given back if the call fails.
  const [claimed] = await db
    .update(imports)
    .set({ reviewDecision: input.decision, reviewRequestedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(
        eq(imports.importId, row.importId),
        eq(imports.diditStatus, SessionStatus.InReview),
        or(
          isNull(imports.reviewRequestedAt),
          lt(imports.reviewRequestedAt, sql`now() - make_interval(secs => ${REVIEW_PENDING_SECONDS})`),
        ),
      ),
    )
    .returning();
  if (!claimed) {
    throw new AppError(
      409,
      "review_pending",
      "A review of this import is already waiting for Didit's answer.",
    );
  }
  const context = { ...importAuditContext(claimed), requestId: input.requestId };
  const details = {
    decision: input.decision,
    comment: input.comment ?? null,
    didit_session_id: row.diditSessionId,
  };
  try {
    await didit.updateSessionStatus(row.diditSessionId, {
      new_status: input.decision,
      ...(input.comment ? { comment: input.comment } : {}),
    });
  } catch (error) {
    await db.transaction(async (tx) => {
      await tx
        .update(imports)
        .set({ reviewDecision: null, reviewRequestedAt: null })
        .where(eq(imports.importId, row.importId));
      await audit.record(tx, {
        ...context,
        action: "import.review_failed",
        outcome: input.decision,
        details,
      });
    });
    const answer = upstreamFailureAnswer(error);
    throw answer ? answerError(answer, error) : error;
  }
  await audit.record(db, { ...context, action: "import.review_requested", outcome: input.decision, details });
  return claimed;
}
