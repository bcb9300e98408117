import type { ImportResultPayload } from "@share-broker/channel";
import { executePrepared } from "@share-broker/service-kit";
import { eq, sql } from "drizzle-orm";
import type { AuditEntry, AuditLog } from "../audit/audit-log.js";
import type { Database, Executor } from "../db/database.js";
import { shares } from "../db/schema/index.js";

export type ResultOutcome = "applied" | "duplicate" | "unknown_share" | "wrong_source" | "ignored";

type ShareRow = typeof shares.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SHARE_STATUS_FOR: Record<ImportResultPayload["outcome"], string> = {
  imported: "imported",
  rejected: "rejected",
  failed: "failed",
};

/** What a result does to the share as it stands: nothing, an audit event only, or an update. */
type Decision =
  | { kind: "duplicate" }
  | { kind: "refused"; outcome: "unknown_share" | "wrong_source" }
  | { kind: "ignored" }
  | { kind: "apply"; next: string; late: boolean };

function decide(share: ShareRow | undefined, source: string, result: ImportResultPayload): Decision {
  if (!share) return { kind: "refused", outcome: "unknown_share" };
  if (share.audience !== source) return { kind: "refused", outcome: "wrong_source" };
  const next = SHARE_STATUS_FOR[result.outcome];
  const sameAsRecorded =
    share.status === next &&
    share.importStatus === result.outcome &&
    share.importSessionStatus === (result.session_status ?? null);
  if (sameAsRecorded) return { kind: "duplicate" };
  const open = ["accepted", "minted", "sent"].includes(share.status);
  const late = share.status === "expired" && result.outcome === "imported";
  const refresh = share.status === next; // e.g. a review changed the imported session's status
  if (!open && !late && !refresh) return { kind: "ignored" };
  return { kind: "apply", next, late };
}

function auditContext(share: ShareRow): Omit<AuditEntry, "action" | "outcome"> {
  return {
    userId: share.userId,
    audience: share.audience,
    purpose: share.purpose,
    scope: share.scope,
    shareId: share.shareId,
    tokenId: share.tokenId,
    tokenExpiresAt: share.tokenExpiresAt,
  };
}

/**
 * Applies a partner's signed import result to the share, idempotently. Only the share's own
 * audience may report on it. A late "imported" still wins over "expired": the import happened.
 *
 * The common case (an open share hears its outcome) is one statement; a refresh or a late result
 * costs two: read the share, then update it guarded on what was read. If the share changed in
 * between, or the result is refused or ignored, the decision is taken again under the row lock.
 */
export async function applyImportResult(
  db: Database,
  audit: AuditLog,
  source: string,
  result: ImportResultPayload,
): Promise<ResultOutcome> {
  // Share ids are UUIDs; anything else names no share (and must not reach a uuid comparison).
  if (!UUID.test(result.share_id)) return applyUnderLock(db, audit, source, result);
  if (await applyToOpenShare(db, audit, source, result)) return "applied";
  const [share] = await db.select().from(shares).where(eq(shares.shareId, result.share_id));
  const decision = decide(share, source, result);
  if (decision.kind === "duplicate") return "duplicate";
  if (share && decision.kind === "apply" && (await applyIfUnchanged(db, audit, share, result, decision))) {
    return "applied";
  }
  return applyUnderLock(db, audit, source, result);
}

/** Reads nothing first: updates, clears the outbox row and audits an open share of this audience. */
async function applyToOpenShare(
  db: Database,
  audit: AuditLog,
  source: string,
  result: ImportResultPayload,
): Promise<boolean> {
  const [applied] = await executePrepared(
    db,
    "apply_result_to_open_share",
    sql`
    with applied as (
      update shares set status = ${SHARE_STATUS_FOR[result.outcome]},
             reason = ${result.outcome === "imported" ? null : (result.reason ?? null)},
             import_status = ${result.outcome},
             import_session_status = ${result.session_status ?? null},
             import_reason = ${result.reason ?? null},
             import_at = ${new Date(result.at)}::timestamptz,
             updated_at = now()
      where share_id = ${result.share_id}::uuid and audience = ${source}
        and status in ('accepted', 'minted', 'sent') and user_pseudonym is not null
      returning *),
    dispatch as (delete from share_dispatches where share_id in (select share_id from applied)),
    audit as (${audit.insertForShares("applied", {
      action: "share.result",
      outcome: result.outcome,
      details: sql`${JSON.stringify(resultDetails(result))}::jsonb`,
    })})
    select count(*)::int as applied from applied`,
  );
  return Number(applied?.applied) === 1;
}

function resultDetails(result: ImportResultPayload) {
  return { session_status: result.session_status ?? null, reason: result.reason ?? null };
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
             updated_at = now()
      where share_id = ${share.shareId}::uuid and status = ${share.status}
        and import_status is not distinct from ${share.importStatus}::text
        and import_session_status is not distinct from ${share.importSessionStatus}::text
      returning share_id),
    dispatch as (delete from share_dispatches where share_id in (select share_id from applied)),
    audit as (${audit.insertPerRowOf("applied", {
      ...auditContext(share),
      action: decision.late ? "share.result_late" : "share.result",
      outcome: result.outcome,
      details: resultDetails(result),
    })})
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
          ...(share ? auditContext(share) : { audience: source, details: { share_id: result.share_id } }),
          action: "share.result_rejected",
          outcome: decision.outcome,
          details: { source },
        });
        return decision.outcome;
      case "ignored":
        await audit.record(tx, {
          ...auditContext(share as ShareRow),
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
