import type { Logger } from "@share-broker/service-kit";
import { sql } from "drizzle-orm";
import type { Database } from "../db/database.js";

const DAY_MS = 86_400_000;

/** Deletes audit events older than the retention period, once at start and then daily. */
export class AuditRetention {
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly db: Database,
    private readonly retentionDays: number,
    private readonly logger: Logger,
  ) {}

  async purge(): Promise<number> {
    return this.db.transaction(async (tx) => {
      // The append-only trigger lets deletes through only with this transaction-local setting.
      await tx.execute(sql`select set_config('share_broker.audit_retention', 'on', true)`);
      const result = await tx.execute(
        sql`delete from audit_events where occurred_at < now() - make_interval(days => ${this.retentionDays})`,
      );
      return result.rowCount ?? 0;
    });
  }

  start(): void {
    const run = () =>
      this.purge().then(
        (deleted) => deleted > 0 && this.logger.info({ deleted }, "audit retention purged old events"),
        (error) => this.logger.error({ err: error }, "audit retention failed"),
      );
    void run();
    this.#timer = setInterval(run, DAY_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
