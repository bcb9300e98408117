import type { ImportResultPayload } from "@share-broker/channel";
import { isOpenShareState, OPEN_SHARE_STATES, type ShareState } from "@share-broker/contracts";
import { amongIdsInStates, columnsOf, executePrepared, GroupCommit } from "@share-broker/service-kit";
import { and, eq, isNotNull, isNull, param, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { PartnerABatchFallbacks } from "../batches.js";
import type { Database, Executor } from "../db/database.js";
import { shares } from "../db/schema/index.js";
import { shareAuditContext } from "./share-audit-context.js";

export type ResultOutcome =
  | "applied"
  | "duplicate"
  | "unknown_share"
  | "wrong_source"
  | "ignored"
  | "replayed";

type ShareRow = typeof shares.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SHARE_STATUS_FOR: Record<ImportResultPayload["outcome"], ShareState> = {
  imported: "imported",
  rejected: "rejected",
  failed: "failed",
  revoked: "revoked",
};

/** What a result does to the share as it stands: nothing, an audit event only, or an update. */
type Decision =
  | { kind: "duplicate" }
  | { kind: "refused"; outcome: "unknown_share" | "wrong_source" }
  | { kind: "replayed"; recorded: number }
  | { kind: "ignored" }
  | { kind: "apply"; next: ShareState; late: boolean };

function decide(share: ShareRow | undefined, source: string, result: ImportResultPayload): Decision {
  if (!share) return { kind: "refused", outcome: "unknown_share" };
  if (share.audience !== source) return { kind: "refused", outcome: "wrong_source" };
  // Before the content is looked at: a result numbered at or below the last one applied is a replay
  // (or arrived after a newer one), even when it says the same as what is recorded.
  const recorded = share.importResultSequence;
  if (recorded !== null && result.sequence <= recorded) return { kind: "replayed", recorded };
  const next = SHARE_STATUS_FOR[result.outcome];
  const sameAsRecorded =
    share.status === next &&
    share.importStatus === result.outcome &&
    share.importSessionStatus === (result.session_status ?? null);
  if (sameAsRecorded) return { kind: "duplicate" };
  const open = isOpenShareState(share.status);
  // An import that happened before partner-b heard of the expiry or the revocation still happened.
  const late = (share.status === "expired" || share.status === "revoked") && result.outcome === "imported";
  const refresh = share.status === next; // e.g. a review changed the imported session's status
  if (!open && !late && !refresh) return { kind: "ignored" };
  return { kind: "apply", next, late };
}

export interface ReportedResult {
  source: string;
  result: ImportResultPayload;
}

/**
 * Applies partners' signed import results to shares, idempotently. Only the share's own audience
 * may report on it. A late "imported" still wins over "expired": the import happened. Each result
 * carries its per-import sequence; the share records the last one applied and refuses any result
 * not above it ("replayed": audited as share.result_replayed, the share untouched), so a result
 * replayed from Redis can neither be applied twice nor roll the share back.
 *
 * The common case (an open share hears its outcome) is one statement, shared by the results that
 * arrive together (group commit). A refresh or a late result costs two: read the share, then update
 * it guarded on what was read. If the share changed in between, or the result is refused or
 * ignored, the decision is taken again under the row lock.
 */
export class ImportResultApplier {
  readonly #together: GroupCommit<ReportedResult, boolean>;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    fallbacks: PartnerABatchFallbacks,
  ) {
    this.#together = new GroupCommit((reported) => applyToOpenShares(db, audit, reported), {
      maxBatch: 64,
      maxInFlight: 2,
      // "Not applied together": the result then takes the read-first path in apply().
      alone: async () => false,
      onFallback: fallbacks.for("apply_import_result"),
    });
  }

  async apply(source: string, result: ImportResultPayload): Promise<ResultOutcome> {
    const { db, audit } = this;
    if (result.consent_withdrawn_at && UUID.test(result.share_id))
      await acknowledgeRevocation(db, source, result);
    // Share ids are UUIDs; anything else names no share (and must not reach a uuid comparison).
    if (!UUID.test(result.share_id)) return applyUnderLock(db, audit, source, result);
    if (await this.#together.submit({ source, result })) return "applied";
    const [share] = await db.select().from(shares).where(eq(shares.shareId, result.share_id));
    const decision = decide(share, source, result);
    if (decision.kind === "duplicate") return "duplicate";
    if (share && decision.kind === "apply" && (await applyIfUnchanged(db, audit, share, result, decision))) {
      return "applied";
    }
    return applyUnderLock(db, audit, source, result);
  }
}

/**
 * Reads nothing first: updates each open share of the reporting audience, clears its outbox row and
 * audits it, for a whole batch in one statement. Answers per result whether it was applied; of two
 * results for one share in a batch only the one with the higher sequence can apply, and the other
 * finds out afterwards that it is older (refused as replayed).
 */
async function applyToOpenShares(
  db: Database,
  audit: AuditLog,
  reported: ReportedResult[],
): Promise<boolean[]> {
  const column = (pick: (item: ReportedResult) => unknown) => param(reported.map(pick));
  const rows = await executePrepared<{ share_id: string; sequence: number }>(
    db,
    "apply_results_to_open_shares",
    sql`
    with input as (
      select * from unnest(${column(({ result }) => result.share_id)}::uuid[], ${column(({ source }) => source)}::text[],
                           ${column(({ result }) => SHARE_STATUS_FOR[result.outcome])}::text[],
                           ${column(({ result }) => result.outcome)}::text[],
                           ${column(({ result }) => result.sequence)}::int[],
                           ${column(({ result }) => result.session_status ?? null)}::text[],
                           ${column(({ result }) => result.reason ?? null)}::text[],
                           ${column(({ result }) => new Date(result.at))}::timestamptz[],
                           ${column(({ result }) => JSON.stringify(resultDetails(result)))}::text[])
        as i(share_id, source, next_status, outcome, sequence, session_status, reason, reported_at, details)),
    -- An UPDATE joined to two input rows of one share takes either: keep only the newest of each.
    newest as (select distinct on (share_id, source) * from input order by share_id, source, sequence desc),
    applied as (
      update shares s set status = i.next_status,
             reason = case when i.outcome = 'imported' then null else i.reason end,
             import_status = i.outcome, import_session_status = i.session_status, import_reason = i.reason,
             import_at = i.reported_at, import_result_sequence = i.sequence, updated_at = now()
      from newest i
      where s.share_id = i.share_id and s.audience = i.source
        and ${amongIdsInStates(
          sql`s.share_id`,
          reported.map(({ result }) => result.share_id),
          sql`s.status`,
          OPEN_SHARE_STATES,
        )}
        and s.user_pseudonym is not null
        and (s.import_result_sequence is null or s.import_result_sequence < i.sequence)
      returning ${columnsOf(shares, "s")}, i.details),
    dispatch as (delete from share_dispatches where share_id in (select share_id from applied)),
    audit as (${audit.insertForShares("applied", {
      action: "share.result",
      outcome: sql`import_status`,
      details: sql`details::jsonb`,
    })})
    select share_id, import_result_sequence as sequence from applied`,
  );
  // A share updated once answers for the one result whose sequence it took (a repeat of that very
  // result in the batch finds out afterwards that it is a replay).
  const applied = new Set(rows.map((row) => `${row.share_id}|${row.sequence}`));
  return reported.map(({ result }) => {
    const key = `${result.share_id.toLowerCase()}|${result.sequence}`;
    const hit = applied.has(key);
    applied.delete(key);
    return hit;
  });
}

/** partner-b took the share's revocation: the dispatcher stops re-sending it. */
async function acknowledgeRevocation(db: Database, source: string, result: ImportResultPayload) {
  await db
    .update(shares)
    .set({ revokeAckedAt: sql`coalesce(${shares.revokeAckedAt}, now())` })
    .where(
      and(
        eq(shares.shareId, result.share_id),
        eq(shares.audience, source),
        isNotNull(shares.revokedAt),
        isNull(shares.revokeAckedAt),
      ),
    );
}

function resultDetails(result: ImportResultPayload) {
  return {
    session_status: result.session_status ?? null,
    reason: result.reason ?? null,
    sequence: result.sequence,
  };
}

async function applyIfUnchanged(
  executor: Executor,
  audit: AuditLog,
  share: ShareRow,
  result: ImportResultPayload,
  decision: { next: string; late: boolean },
): Promise<boolean> {
  const applied = await executor.execute(sql`
    with applied as (
      update shares set status = ${decision.next},
             reason = ${result.outcome === "imported" ? null : (result.reason ?? null)},
             import_status = ${result.outcome},
             import_session_status = ${result.session_status ?? null},
             import_reason = ${result.reason ?? null},
             import_at = ${new Date(result.at)}::timestamptz,
             import_result_sequence = ${result.sequence},
             updated_at = now()
      where share_id = ${share.shareId}::uuid and status = ${share.status}
        and import_status is not distinct from ${share.importStatus}::text
        and import_session_status is not distinct from ${share.importSessionStatus}::text
        and import_result_sequence is not distinct from ${share.importResultSequence}::int
      returning share_id),
    dispatch as (delete from share_dispatches where share_id in (select share_id from applied)),
    audit as (${audit.insertEach(
      [
        {
          ...shareAuditContext(share),
          action: decision.late ? "share.result_late" : "share.result",
          outcome: result.outcome,
          details: resultDetails(result),
        },
      ],
      "applied",
    )})
    select count(*)::int as applied from applied`);
  return Number(applied.rows[0]?.applied) === 1;
}

async function applyUnderLock(
  db: Database,
  audit: AuditLog,
  source: string,
  result: ImportResultPayload,
): Promise<ResultOutcome> {
  return db.transaction(async (tx) => {
    const [share] = UUID.test(result.share_id)
      ? await tx.select().from(shares).where(eq(shares.shareId, result.share_id)).for("update")
      : [];
    const decision = decide(share, source, result);
    switch (decision.kind) {
      case "duplicate":
        return "duplicate";
      case "refused":
        await audit.record(tx, {
          ...(share
            ? shareAuditContext(share)
            : { audience: source, details: { share_id: result.share_id } }),
          action: "share.result_rejected",
          outcome: decision.outcome,
          details: { source },
        });
        return decision.outcome;
      case "replayed":
        await audit.record(tx, {
          ...shareAuditContext(share as ShareRow),
          action: "share.result_replayed",
          outcome: result.outcome,
          details: {
            received_sequence: result.sequence,
            recorded_sequence: decision.recorded,
            session_status: result.session_status ?? null,
          },
        });
        return "replayed";
      case "ignored":
        await audit.record(tx, {
          ...shareAuditContext(share as ShareRow),
          action: "share.result_ignored",
          outcome: result.outcome,
        });
        return "ignored";
      case "apply":
        // Under the lock the guard always holds: the same one statement applies it.
        await applyIfUnchanged(tx, audit, share as ShareRow, result, decision);
        return "applied";
    }
  });
}
