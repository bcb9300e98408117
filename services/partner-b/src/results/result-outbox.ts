import type { ImportResultPayload } from "@share-broker/channel";
import { and, eq, isNull, sql } from "drizzle-orm";
import { resultJobId } from "../channel/job-ids.js";
import type { Executor } from "../db/database.js";
import { resultOutbox } from "../db/schema/index.js";
import type { ImportRow } from "../imports/import-row.js";

/** Why a result is (re)sent: the import's outcome, a later session status change, or a replayed offer. */
export type ResultKind = "outcome" | "status_update" | "resend";

/** The import-result payload for an import as it stands now (absent fields are left out, not null). */
export function resultPayloadOf(row: ImportRow, at: Date): ImportResultPayload {
  const payload: ImportResultPayload = {
    share_id: row.shareId,
    outcome: row.status as ImportResultPayload["outcome"],
    import_id: row.importId,
    at: at.toISOString(),
  };
  if (row.diditStatus) payload.session_status = row.diditStatus;
  if (row.reason) payload.reason = row.reason;
  if (row.sharedFromSession) payload.shared_from_session = row.sharedFromSession;
  return payload;
}

/**
 * Queues a result for the source partner in the caller's transaction, which must hold the import's
 * row lock (it numbers results per import). The first result's job id is the share id; later ones
 * (status refreshes, re-sends) add their sequence number.
 */
export async function enqueueResult(
  tx: Executor,
  row: ImportRow,
  kind: ResultKind,
  at: Date,
): Promise<string> {
  const [last] = await tx
    .select({ seq: sql<number | null>`max(${resultOutbox.seq})` })
    .from(resultOutbox)
    .where(eq(resultOutbox.importId, row.importId));
  const seq = last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq) + 1;
  const jobId = resultJobId(row.shareId, seq);
  await tx.insert(resultOutbox).values({
    importId: row.importId,
    seq,
    jobId,
    sourcePartner: row.sourcePartner,
    kind,
    payload: resultPayloadOf(row, at),
  });
  return jobId;
}

/** Whether a result of this import is still waiting to be sent (a re-send would only repeat it). */
export async function hasPendingResult(tx: Executor, importId: string): Promise<boolean> {
  const [pending] = await tx
    .select({ id: resultOutbox.id })
    .from(resultOutbox)
    .where(and(eq(resultOutbox.importId, importId), isNull(resultOutbox.sentAt)))
    .limit(1);
  return pending !== undefined;
}
