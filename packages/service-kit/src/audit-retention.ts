import type { Pool } from "pg";
import type { Logger } from "./logger.js";

const DAY_MS = 86_400_000;

/**
 * Deletes `audit_events` rows older than the retention period, once at start and then daily. The
 * table's append-only trigger lets deletes through only when this transaction-local setting is on.
 */
export class AuditRetention {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly retentionDays: number,
    private readonly logger: Logger,
  ) {}

  async purge(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      await client.query("select set_config('share_broker.audit_retention', 'on', true)");
      const result = await client.query(
        "delete from audit_events where occurred_at < now() - make_interval(days => $1)",
        [this.retentionDays],
      );
      await client.query("commit");
      return result.rowCount ?? 0;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
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
