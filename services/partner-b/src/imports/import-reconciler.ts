import { OPEN_IMPORT_STATES } from "@share-broker/contracts";
import { type DiditClient, DiditError, DiditNotFoundError } from "@share-broker/didit";
import { type Logger, PeriodicTask, safeErrorFields } from "@share-broker/service-kit";
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { findImportedCopy } from "./find-imported-copy.js";
import type { ImportStore } from "./import-store.js";
import { recordRevokedCopyDeleted } from "./revoke-import.js";

export interface ImportReconcilerOptions {
  intervalMs: number;
  /** Seconds after token expiry before an unfinished import is closed. */
  graceSeconds: number;
  leaseSeconds: number;
}

const RECONCILER = "reconciler";

/**
 * Postgres is the truth and Redis only a transport: an import whose deliveries were all lost (Redis
 * flushed, jobs exhausted their attempts) would stay "importing" forever. Once its token has expired
 * and no delivery holds it, no retry can help, so each pass closes such imports: imported when our
 * Didit copy exists after all, failed otherwise, with a result either way. Each pass also deletes
 * Didit copies of revoked imports that a delivery made around their revocation.
 */
export class ImportReconciler {
  readonly #task: PeriodicTask;

  constructor(
    private readonly deps: {
      db: Database;
      didit: DiditClient;
      store: ImportStore;
      audit: AuditLog;
      logger: Logger;
      wakeResults: () => void;
    },
    private readonly options: ImportReconcilerOptions,
  ) {
    this.#task = new PeriodicTask("import reconciler", () => this.runOnce(), options.intervalMs, deps.logger);
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
  }

  async runOnce(): Promise<{ imported: number; failed: number; copiesDeleted: number }> {
    const closed = await this.#closeStale();
    const copiesDeleted = await this.#deleteRevokedCopies();
    return { ...closed, copiesDeleted };
  }

  /**
   * Imports a revocation closed while a delivery worked on them (checked once their lease time has
   * passed, so a live delivery undoes its own import first): a Didit copy made anyway, by a delivery
   * that died before recording it or whose delete failed, is found by vendor_data and deleted.
   */
  async #deleteRevokedCopies(): Promise<number> {
    const due = await this.deps.db
      .select()
      .from(imports)
      .where(
        and(
          eq(imports.status, "revoked"),
          lt(imports.revokedCopyCheckAt, sql`now() - make_interval(secs => ${this.options.leaseSeconds})`),
        ),
      )
      .limit(50);
    let deleted = 0;
    for (const row of due) {
      try {
        const found = await findImportedCopy(this.deps.didit, this.deps.store, this.deps.db, row);
        const sessionId = found.kind === "copy" ? found.copy.sessionId : null;
        this.deps.logger.info(
          { import_id: row.importId, found: found.kind },
          "checked a revoked import for a Didit copy",
        );
        if (sessionId) {
          try {
            await this.deps.didit.deleteSession(sessionId);
          } catch (error) {
            if (!(error instanceof DiditNotFoundError)) throw error;
          }
          deleted += 1;
        }
        await recordRevokedCopyDeleted(this.deps.db, this.deps.audit, row, sessionId);
      } catch (error) {
        // Didit unreachable or refusing: the row keeps its mark and a later pass tries again.
        if (!(error instanceof DiditError)) throw error;
        this.deps.logger.warn(
          { ...safeErrorFields(error), import_id: row.importId },
          "cannot check a revoked import's Didit copy yet",
        );
      }
    }
    if (deleted > 0) this.deps.logger.warn({ deleted }, "deleted Didit copies of revoked imports");
    return deleted;
  }

  async #closeStale(): Promise<{ imported: number; failed: number }> {
    const stale = await this.deps.db
      .update(imports)
      .set({
        leaseOwner: RECONCILER,
        leasedUntil: sql`now() + make_interval(secs => ${this.options.leaseSeconds})`,
      })
      .where(
        and(
          inArray(imports.status, [...OPEN_IMPORT_STATES]),
          lt(imports.tokenExpiresAt, sql`now() - make_interval(secs => ${this.options.graceSeconds})`),
          or(isNull(imports.leasedUntil), lt(imports.leasedUntil, sql`now()`)),
        ),
      )
      .returning();
    let imported = 0;
    let failed = 0;
    for (const row of stale) {
      try {
        const found = await findImportedCopy(this.deps.didit, this.deps.store, this.deps.db, row);
        if (found.kind === "copy") {
          if (
            await this.deps.store.recordImported(row, found.copy, {
              reconciled: true,
              by: RECONCILER,
            })
          ) {
            imported += 1;
          }
        } else if (
          await this.deps.store.recordNotImported(row, "failed", "not_completed_before_token_expiry", {
            by: RECONCILER,
            attempts: row.attempts,
            last_error: row.lastError,
          })
        ) {
          failed += 1;
        }
      } catch (error) {
        // Didit unreachable: leave the lease to lapse and try again on a later pass.
        if (!(error instanceof DiditError)) throw error;
        this.deps.logger.warn({ err: error, import_id: row.importId }, "cannot reconcile an import yet");
        await this.deps.db
          .update(imports)
          .set({ leaseOwner: null, leasedUntil: null })
          .where(and(eq(imports.importId, row.importId), eq(imports.leaseOwner, RECONCILER)));
      }
    }
    if (imported + failed > 0) {
      this.deps.wakeResults();
      this.deps.logger.info({ imported, failed }, "import reconciler closed stale imports");
    }
    return { imported, failed };
  }
}
