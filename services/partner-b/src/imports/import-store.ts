import { randomUUID } from "node:crypto";
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database, Executor } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { enqueueResult, hasPendingResult } from "../results/result-outbox.js";
import {
  type ImportRow,
  importAuditContext,
  isTerminalImportState,
  OPEN_IMPORT_STATES,
} from "./import-row.js";

/** What partner-b learnt from an opened share offer; the token itself lives only in memory. */
export interface ReceivedOffer {
  sourcePartner: string;
  shareId: string;
  userPseudonym: string;
  purpose: string;
  scope: string;
  consentId: string;
  recipientRef: string | null;
  sessionKind: string;
  tokenHash: string;
  tokenId: string;
  tokenExpiresAt: Date;
  /** From the token's unverified claims, if it could be decoded. */
  claimedSourceSession: string | null;
}

export type Receipt =
  | { kind: "new"; row: ImportRow }
  | { kind: "open"; row: ImportRow }
  | { kind: "finished"; row: ImportRow; resent: boolean };

/** A Didit session that is our imported copy of the shared one. */
export interface ImportedCopy {
  sessionId: string;
  status: string;
  statusAt: Date;
  sharedFromSession: string | null;
}

/**
 * The import's row transitions. Each runs in one transaction with its audit event and, for
 * outcomes, the result to send, so an import can never be recorded without its result (or the
 * other way round).
 */
export class ImportStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Records the receipt of an offer once per (source partner, share id). A replay of an offer that
   * already reached an outcome queues its result again, since the sharer may have lost it.
   */
  async receive(offer: ReceivedOffer, jobId: string): Promise<Receipt> {
    return this.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(imports)
        .values({
          importId: randomUUID(),
          sourcePartner: offer.sourcePartner,
          shareId: offer.shareId,
          status: "received",
          userPseudonym: offer.userPseudonym,
          purpose: offer.purpose,
          scope: offer.scope,
          consentId: offer.consentId,
          recipientRef: offer.recipientRef,
          sessionKind: offer.sessionKind,
          // A user id of ours, fixed now, so every retry imports for the same user.
          vendorData: offer.recipientRef ?? `b-user-${randomUUID()}`,
          tokenHash: offer.tokenHash,
          tokenId: offer.tokenId,
          tokenExpiresAt: offer.tokenExpiresAt,
          claimedSourceSession: offer.claimedSourceSession,
        })
        .onConflictDoNothing({ target: [imports.sourcePartner, imports.shareId] })
        .returning();
      if (inserted) {
        await this.audit.record(tx, {
          ...importAuditContext(inserted),
          action: "import.received",
          outcome: "received",
          details: { job_id: jobId, vendor_data: inserted.vendorData },
        });
        return { kind: "new", row: inserted };
      }
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
        action: "import.replayed",
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
    leaseSeconds: number,
    policy: { workflowId: string; trustReview: boolean; policyVersion: string } | undefined,
  ): Promise<ImportRow | undefined> {
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

  /** The import succeeded (or a lost success was found again): record it and queue its result. */
  async recordImported(
    importId: string,
    copy: ImportedCopy,
    details: Record<string, unknown>,
  ): Promise<ImportRow | undefined> {
    return this.#finish(
      importId,
      {
        status: "imported",
        reason: null,
        diditSessionId: copy.sessionId,
        diditStatus: copy.status,
        diditStatusAt: copy.statusAt,
        sharedFromSession: copy.sharedFromSession,
        lastError: null,
      },
      (row) => ({ action: "import.imported", outcome: copy.status, details: { ...details, ...didit(row) } }),
    );
  }

  async recordNotImported(
    importId: string,
    status: "rejected" | "failed",
    reason: string,
    details: Record<string, unknown>,
  ): Promise<ImportRow | undefined> {
    return this.#finish(
      importId,
      {
        status,
        reason,
        ...(typeof details.error === "string" ? { lastError: details.error.slice(0, 500) } : {}),
      },
      () => ({
        action: status === "rejected" ? "import.rejected" : "import.failed",
        outcome: reason,
        details,
      }),
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

  async #finish(
    importId: string,
    changes: Partial<typeof imports.$inferInsert>,
    event: (row: ImportRow) => { action: string; outcome: string; details: Record<string, unknown> },
  ): Promise<ImportRow | undefined> {
    return this.db.transaction(async (tx) => {
      const now = new Date();
      const [finished] = await tx
        .update(imports)
        .set({
          ...changes,
          decidedAt: now,
          leaseOwner: null,
          leasedUntil: null,
          updatedAt: now,
        })
        .where(and(eq(imports.importId, importId), inArray(imports.status, [...OPEN_IMPORT_STATES])))
        .returning();
      // Already finished by another delivery: that one recorded the outcome and queued the result.
      if (!finished) return undefined;
      await this.audit.record(tx, { ...importAuditContext(finished), ...event(finished) });
      await enqueueResult(tx, finished, "outcome", now);
      return finished;
    });
  }
}

function didit(row: ImportRow) {
  return {
    didit_session_id: row.diditSessionId,
    workflow_id: row.workflowId,
    trust_review: row.trustReview,
    policy_version: row.policyVersion,
    shared_from_session: row.sharedFromSession,
  };
}
