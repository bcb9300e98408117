import type { PartnerBAuditAction } from "@share-broker/contracts";
import { isTerminalImportState, OPEN_IMPORT_STATES } from "@share-broker/contracts";
import { columnsOf, executePrepared, GroupCommit, rowMapper } from "@share-broker/service-kit";
import { and, eq, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { PartnerBBatchFallbacks } from "../batches.js";
import type { Database, Executor } from "../db/database.js";
import { jsonb } from "../db/raw-sql.js";
import { imports } from "../db/schema/index.js";
import { enqueueResult, enqueueResultPerRow, hasPendingResult } from "../results/result-outbox.js";
import {
  finishImported,
  OPEN_STATES,
  type PendingImported,
  type PendingReceipt,
  receiveNewOffers,
} from "./import-batches.js";
import { type ImportRow, importAuditContext } from "./import-row.js";

/** What partner-b learnt from an opened share offer; the token itself lives only in memory. */
export interface ReceivedOffer {
  sourcePartner: string;
  shareId: string;
  userPseudonym: string;
  purpose: string;
  scope: string;
  consentId: string;
  /** SHA-256 of the offer's link code (link-codes.ts): the code itself is never kept. */
  linkCodeHash: string;
  sessionKind: string;
  tokenHash: string;
  tokenId: string;
  tokenExpiresAt: Date;
  /** From the token's unverified claims, if it could be decoded. */
  claimedSourceSession: string | null;
}

export type Receipt =
  /** A first receipt: inserted already claimed by this delivery. */
  | { kind: "new"; row: ImportRow }
  /** Received before and still open: claim() decides whether this delivery may work on it. */
  | { kind: "open"; row: ImportRow }
  | { kind: "finished"; row: ImportRow; resent: boolean };

/** How a delivery holds an import it claims, and the policy it imports under. */
export interface Lease {
  seconds: number;
  policy: { workflowId: string; trustReview: boolean; policyVersion: string } | undefined;
}

/** What identifies an import to the statements that finish it. */
export type ImportKey = Pick<ImportRow, "importId" | "shareId">;

/** A Didit session that is our imported copy of the shared one. */
export interface ImportedCopy {
  sessionId: string;
  status: string;
  statusAt: Date;
  sharedFromSession: string | null;
}

/** How ImportStore groups its hot statements (see GroupCommit). */
export interface GroupCommitOptions {
  /** Most items per statement. */
  maxBatch: number;
  /** Statements of one kind in flight at once. */
  maxInFlight: number;
}

/**
 * The import's row transitions. Each is atomic with its audit event and, for outcomes, the result to
 * send, so an import can never be recorded without its result (or the other way round). The common
 * path (first receipt, outcome) is one statement each, a data-modifying CTE, since a share's cost is
 * dominated by round trips and commits; rarer paths keep a transaction. Those statements run as named
 * prepared statements (parsed and planned once per connection), so each name below stands for one
 * SQL text: only values vary, never the shape.
 *
 * A first receipt and a success are group-committed: the deliveries that reach them while earlier
 * ones are being written go together in the next statement (import-batches.ts), one statement for the
 * batch instead of one per import. An idle store still writes each at once. If a batch statement
 * fails it wrote nothing, and each of its items takes the one-item statement below, which answers
 * (or fails) for its own item only.
 */
export class ImportStore {
  readonly #receipts: GroupCommit<PendingReceipt, ImportRow | undefined>;
  readonly #successes: GroupCommit<PendingImported, ImportRow | undefined>;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    fallbacks: PartnerBBatchFallbacks,
    grouping: GroupCommitOptions = { maxBatch: 64, maxInFlight: 2 },
  ) {
    this.#receipts = new GroupCommit((pending) => receiveNewOffers(db, audit, pending), {
      ...grouping,
      alone: (pending) => this.#insertClaimedAlone(pending),
      onFallback: fallbacks.for("import_store_insert"),
    });
    this.#successes = new GroupCommit((pending) => finishImported(db, audit, pending), {
      ...grouping,
      alone: (pending) => this.#recordImportedAlone(pending),
      onFallback: fallbacks.for("import_store_finish_imported"),
    });
  }

  /**
   * Records the receipt of an offer once per (source partner, share id). A first receipt is a single
   * statement (shared with the receipts that arrive together) that also redeems the offer's link
   * code and claims the import for this delivery, or records it rejected with its result when the
   * code is refused (see receiveNewOffers). A replay of an offer that already reached an outcome queues its result again, since
   * the sharer may have lost it.
   */
  async receive(offer: ReceivedOffer, jobId: string, lease: Lease): Promise<Receipt> {
    const inserted = await this.#receipts.submit({ offer, jobId, lease });
    return inserted ? { kind: "new", row: inserted } : this.#receiveAgain(offer, jobId);
  }

  /**
   * The receipt inserted leased to this job exactly as claim() would lease a free import (importing,
   * first attempt, the policy's workflow), with its "import.received" event, in one statement of its
   * own: a failed batch's items end up here. Undefined when the offer was received before; the
   * conflicting row is committed by then (ON CONFLICT waits for it).
   */
  async #insertClaimedAlone(pending: PendingReceipt): Promise<ImportRow | undefined> {
    const [row] = await receiveNewOffers(this.db, this.audit, [pending], "partner-b.imports.receive");
    return row;
  }

  /** An offer received before: its row as it stands, and for a finished import its result again. */
  async #receiveAgain(offer: ReceivedOffer, jobId: string): Promise<Receipt> {
    return this.db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(imports)
        .where(and(eq(imports.sourcePartner, offer.sourcePartner), eq(imports.shareId, offer.shareId)))
        .for("update");
      if (!existing) throw new Error("import receipt vanished");
      // Still open: this job's own retry, or a duplicate; claim() tells which.
      if (!isTerminalImportState(existing.status)) return { kind: "open", row: existing };
      const context = {
        ...importAuditContext(existing),
        action: "import.replayed" as const,
        details: { job_id: jobId, same_token: existing.tokenHash === offer.tokenHash },
      };
      const resend = !(await hasPendingResult(tx, existing.importId));
      if (resend) await enqueueResult(tx, existing, "resend", new Date());
      await this.audit.record(tx, { ...context, outcome: resend ? "result_resent" : "result_pending" });
      return { kind: "finished", row: existing, resent: resend };
    });
  }

  /**
   * Takes the import for this delivery: a free import, one this same job held before (a retry or a
   * job BullMQ re-ran after its worker died), or one whose holder's lease lapsed. A concurrent
   * duplicate gets nothing and leaves the import to its holder.
   */
  async claim(
    row: ImportRow,
    offer: ReceivedOffer,
    jobId: string,
    lease: Lease,
  ): Promise<ImportRow | undefined> {
    const { seconds: leaseSeconds, policy } = lease;
    const [claimed] = await this.db
      .update(imports)
      .set({
        status: "importing",
        leaseOwner: jobId,
        leasedUntil: sql`now() + make_interval(secs => ${leaseSeconds})`,
        attempts: sql`${imports.attempts} + 1`,
        // A redriven offer carries a fresh token for the same share: the newest delivery's token is used.
        tokenHash: offer.tokenHash,
        tokenId: offer.tokenId,
        tokenExpiresAt: offer.tokenExpiresAt,
        claimedSourceSession: offer.claimedSourceSession,
        workflowId: policy?.workflowId ?? null,
        trustReview: policy?.trustReview ?? null,
        policyVersion: policy?.policyVersion ?? null,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(imports.importId, row.importId),
          inArray(imports.status, [...OPEN_IMPORT_STATES]),
          or(isNull(imports.leaseOwner), eq(imports.leaseOwner, jobId), lt(imports.leasedUntil, sql`now()`)),
        ),
      )
      .returning();
    return claimed;
  }

  /** A second delivery of an offer another delivery is importing right now: nothing to do but say so. */
  async recordDuplicate(row: ImportRow, jobId: string): Promise<void> {
    await this.audit.record(this.db, {
      ...importAuditContext(row),
      action: "import.replayed",
      outcome: "in_progress",
      details: { job_id: jobId, held_by: row.leaseOwner },
    });
  }

  /**
   * The import succeeded (or a lost success was found again): record it and queue its result, in
   * one statement shared with the successes that arrive together. Undefined when the import was no
   * longer open (another delivery recorded its outcome).
   */
  async recordImported(
    key: ImportKey,
    copy: ImportedCopy,
    details: Record<string, unknown>,
  ): Promise<ImportRow | undefined> {
    const pending = { key: { importId: key.importId, shareId: key.shareId }, copy, details };
    return this.#successes.submit(pending);
  }

  /** recordImported for one import in its own statement: a failed batch's items end up here. */
  async #recordImportedAlone(pending: PendingImported): Promise<ImportRow | undefined> {
    const [row] = await finishImported(this.db, this.audit, [pending], "partner-b.imports.finish-imported");
    return row;
  }

  async recordNotImported(
    key: ImportKey,
    status: "rejected" | "failed",
    reason: string,
    details: Record<string, unknown>,
  ): Promise<ImportRow | undefined> {
    // One text with or without an error (a null keeps the last error), so one prepared statement.
    const lastError = typeof details.error === "string" ? details.error.slice(0, 500) : null;
    return this.#finish(
      "partner-b.imports.finish-not-imported",
      key,
      sql`status = ${status}, reason = ${reason}, last_error = coalesce(${lastError}::text, last_error)`,
      {
        action: status === "rejected" ? "import.rejected" : "import.failed",
        outcome: reason,
        details: jsonb(details),
      },
    );
  }

  /** Keeps the import for this job until the retry is due, and says why it waits. */
  async recordRetry(row: ImportRow, jobId: string, retryAt: Date, leaseSeconds: number, error: string) {
    await this.db.transaction(async (tx) => {
      await tx
        .update(imports)
        .set({
          lastError: error.slice(0, 500),
          leasedUntil: sql`${retryAt.toISOString()}::timestamptz + make_interval(secs => ${leaseSeconds})`,
          updatedAt: sql`now()`,
        })
        .where(and(eq(imports.importId, row.importId), eq(imports.leaseOwner, jobId)));
      await this.audit.record(tx, {
        ...importAuditContext(row),
        action: "import.retry_scheduled",
        outcome: "transient_error",
        details: { job_id: jobId, attempt: row.attempts, retry_at: retryAt.toISOString(), error },
      });
    });
  }

  /** Which import, if any, already recorded this Didit session. */
  async importOfSession(executor: Executor, sessionId: string): Promise<string | undefined> {
    const [row] = await executor
      .select({ importId: imports.importId })
      .from(imports)
      .where(eq(imports.diditSessionId, sessionId));
    return row?.importId;
  }

  /**
   * Closes an open import with its outcome in one statement (one round trip, one commit): the update,
   * its audit event and its result for the sharer, numbered after the import's last result.
   *
   * Why numbering inside the statement is safe: the update takes the import's row lock, and the
   * max(seq) beside it reads the statement's snapshot, taken before any wait for that lock. A row
   * another transaction queued meanwhile would be unseen, but there is none: the other callers of
   * enqueueResult (a replayed offer's re-send, a webhook's status update) queue only for an import
   * that is already finished, under its row lock, and imports are finished only here. So an open
   * import has no results and gets none until this commits; those callers then lock the row after us
   * and number in a later statement that sees our row. A second #finish waits for the lock, re-checks
   * the open-state guard against our committed row, matches nothing, and so writes no second event or
   * result. Were that reasoning ever broken, the unique index on (import_id, seq) fails the whole
   * statement (nothing half-written) rather than numbering two results alike.
   *
   * `name` names the prepared statement, so it must stand for one shape of `changes` and `event`.
   */
  async #finish(
    name: string,
    key: ImportKey,
    changes: SQL,
    event: { action: PartnerBAuditAction; outcome: string; details: SQL },
  ): Promise<ImportRow | undefined> {
    const now = new Date();
    const rows = await executePrepared(
      this.db,
      name,
      sql`
      with finished as (
        update imports set ${changes}, decided_at = ${now.toISOString()}::timestamptz, lease_owner = null,
               leased_until = null, updated_at = ${now.toISOString()}::timestamptz
        where import_id = ${key.importId}::uuid and status in (${OPEN_STATES})
        returning ${columnsOf(imports)}),
      audited as (${this.audit.recordPerImportRow("finished", event)}),
      queued as (${enqueueResultPerRow("finished", key.shareId, "outcome", now)})
      select ${columnsOf(imports)} from finished`,
    );
    // Nothing: already finished by another delivery, which recorded the outcome and queued the result.
    const [row] = rows;
    return row ? importFromRow(row) : undefined;
  }
}

const importFromRow = rowMapper(imports);
