import type { ImportResultPayload } from "@share-broker/channel";
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { channelJobId, resultJobId } from "../channel/job-ids.js";
import type { Executor } from "../db/database.js";
import { resultOutbox } from "../db/schema/index.js";
import type { ImportRow } from "../imports/import-row.js";

/** Why a result is (re)sent: the import's outcome, a later session status change, or a replayed offer. */
export type ResultKind = "outcome" | "status_update" | "resend";

/**
 * The payload's `sequence` for an outbox row: the row's `seq` counts from 0 (the first result's job
 * id is the bare share id), the sequence the sharer orders results by counts from 1.
 */
export function resultSequenceOf(seq: number): number {
  return seq + 1;
}

/**
 * The import-result payload for an import as it stands now, as its `sequence`-th result (absent
 * fields are left out, not null).
 */
export function resultPayloadOf(row: ImportRow, at: Date, sequence: number): ImportResultPayload {
  const payload: ImportResultPayload = {
    share_id: row.shareId,
    outcome: row.status as ImportResultPayload["outcome"],
    sequence,
    import_id: row.importId,
    at: at.toISOString(),
  };
  if (row.diditStatus) payload.session_status = row.diditStatus;
  if (row.reason) payload.reason = row.reason;
  if (row.sharedFromSession) payload.shared_from_session = row.sharedFromSession;
  if (row.consentWithdrawnAt) payload.consent_withdrawn_at = row.consentWithdrawnAt.toISOString();
  return payload;
}

/**
 * Queues a result for the source partner in the caller's transaction, which must hold the import's
 * row lock: it numbers results per import, reading the last number after the lock was taken (a
 * writer that raced it waits for the lock, then reads the number it committed), and the unique
 * (import_id, seq) index refuses a number taken twice rather than let two results share it. The
 * first result's job id is the share id; later ones (status refreshes, re-sends) add their number.
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
    payload: resultPayloadOf(row, at, resultSequenceOf(seq)),
  });
  return jobId;
}

/**
 * The SQL twin of enqueueResult for a data-modifying CTE: queues a result for each import row of
 * the CTE `source` (returning imports columns; nothing when it is empty), numbered after the import's
 * last result and with the payload resultPayloadOf would build from that row. The statement must hold
 * the import's row lock (its CTE updated the row). `shareId` is the import's, known to the caller:
 * the job id's base is made in JS (channelJobId hashes odd ids) and only the number is added in SQL.
 */
export function enqueueResultPerRow(source: string, shareId: string, kind: ResultKind, at: Date): SQL {
  // resultJobId(shareId, seq) with the seq the statement finds.
  return enqueueResultsPerRow(source, sql`${channelJobId(shareId)}`, kind, at);
}

/**
 * enqueueResultPerRow for a CTE of several imports (a group-committed batch): `jobIdBase` is SQL
 * over the source row `r`, e.g. a column the batch carries with channelJobId of each share id.
 *
 * Each row is numbered after its own import's last result (max(seq) read in the statement's
 * snapshot), so the source must hold each import at most once: two rows of one import would both
 * take the same number and the unique (import_id, seq) index would fail the whole statement.
 */
export function enqueueResultsPerRow(source: string, jobIdBase: SQL, kind: ResultKind, at: Date): SQL {
  return sql`insert into result_outbox (import_id, seq, job_id, source_partner, kind, payload)
    select r.import_id, n.seq, ${jobIdBase}::text || case when n.seq = 0 then '' else '-' || n.seq end,
           r.source_partner, ${kind}::text, ${resultPayloadSql("r", at, sql`n.seq + 1`)}
    from ${sql.identifier(source)} as r
    cross join lateral (
      select coalesce(max(o.seq) + 1, 0) as seq from result_outbox o where o.import_id = r.import_id) n`;
}

/**
 * resultPayloadOf in SQL, over the imports columns of the row named `row`: absent (null or empty) fields are left out, as
 * resultPayloadOf leaves out falsy ones. `at` is formatted in JS so the instant reads the same; `sequence`
 * is SQL for the payload's sequence (resultSequenceOf of the row's seq).
 */
export function resultPayloadSql(row: string, at: Date, sequence: SQL): SQL {
  const r = sql.identifier(row);
  return sql`jsonb_strip_nulls(jsonb_build_object(
      'share_id', ${r}.share_id, 'outcome', ${r}.status, 'sequence', (${sequence})::int,
      'import_id', ${r}.import_id, 'at', ${at.toISOString()}::text,
      'session_status', nullif(${r}.didit_status, ''), 'reason', nullif(${r}.reason, ''),
      'shared_from_session', nullif(${r}.shared_from_session, ''),
      'consent_withdrawn_at', to_char(${r}.consent_withdrawn_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))`;
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
