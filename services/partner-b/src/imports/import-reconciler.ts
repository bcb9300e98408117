import { OPEN_IMPORT_STATES } from "@share-broker/contracts";
import { type DiditClient, DiditError } from "@share-broker/didit";
import { type Logger, PeriodicTask } from "@share-broker/service-kit";
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { findImportedCopy } from "./find-imported-copy.js";
import type { ImportStore } from "./import-store.js";

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
 * Didit copy exists after all, failed otherwise, with a result either way.
 */
export class ImportReconciler {
  readonly #task: PeriodicTask;

  constructor(
    private readonly deps: {
      db: Database;
      didit: DiditClient;
      store: ImportStore;
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

  async runOnce(): Promise<{ imported: number; failed: number }> {
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
