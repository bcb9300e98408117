import type { Pool } from "pg";
import { Counter, type Registry } from "prom-client";
import { safeErrorFields } from "./batch-fallbacks.js";
import type { Logger } from "./logger.js";

export const RETENTION_DELETED_METRIC = "share_broker_retention_deleted_total";
export const RETENTION_FAILURES_METRIC = "share_broker_retention_failures_total";

/** One table's retention: rows whose `ageColumn` is older than `days` (and match `where`) go. */
export interface RetentionRule {
  /** The rule's name in logs and metrics (stable: alerts key on it). */
  name: string;
  table: string;
  /** A timestamp column; the cutoff is `now() - days`. */
  ageColumn: string;
  days: number;
  /** A further SQL condition on the table's rows, written by the service (never from input). */
  where?: string;
  /** A transaction-local setting turned on while deleting: the key a guarding trigger checks. */
  allowSetting?: string;
}

export interface RetentionOptions {
  /** Rows deleted per statement (and transaction), so no delete holds locks or builds WAL for long. */
  batchSize: number;
  /** Batches per rule and pass: a large backlog is worked off over several passes. */
  maxBatchesPerPass: number;
  /** Between passes; the first runs at start. */
  intervalMs: number;
  /** While a rule still had more than a pass could take, the next pass comes after this instead. */
  backlogIntervalMs?: number;
}

/** The audit trail's rule: its append-only trigger lets deletes through only under this setting. */
export function auditEventsRetention(days: number): RetentionRule {
  return {
    name: "audit_events",
    table: "audit_events",
    ageColumn: "occurred_at",
    days,
    allowSetting: "share_broker.audit_retention",
  };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Deletes old rows of operational tables, once at start and then every `intervalMs`: each rule
 * in batches of `batchSize` rows (oldest first, by ctid so no key is needed), at most
 * `maxBatchesPerPass` per pass. Each pass logs what it deleted per rule; a failing rule is logged
 * and counted and the other rules still run.
 */
export class TableRetention {
  readonly #deleted: Counter<"rule"> | undefined;
  readonly #failures: Counter<"rule"> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<unknown> | undefined;
  #stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly rules: readonly RetentionRule[],
    private readonly options: RetentionOptions,
    private readonly logger: Logger,
    registry?: Registry,
  ) {
    for (const rule of rules) {
      if (![rule.table, rule.ageColumn].every((name) => IDENTIFIER.test(name))) {
        throw new TypeError(`retention rule ${rule.name}: table and column must be plain identifiers`);
      }
      if (!Number.isInteger(rule.days) || rule.days < 1) {
        throw new TypeError(`retention rule ${rule.name}: days must be a positive integer`);
      }
    }
    if (registry) {
      this.#deleted = new Counter({
        name: RETENTION_DELETED_METRIC,
        help: "Rows deleted by the retention job, by rule",
        labelNames: ["rule"] as const,
        registers: [registry],
      });
      this.#failures = new Counter({
        name: RETENTION_FAILURES_METRIC,
        help: "Retention passes of a rule that failed, by rule",
        labelNames: ["rule"] as const,
        registers: [registry],
      });
    }
  }

  /** One batch of one rule: the number of rows it deleted. */
  async #deleteBatch(rule: RetentionRule): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      if (rule.allowSetting) await client.query("select set_config($1, 'on', true)", [rule.allowSetting]);
      const result = await client.query(
        `delete from ${rule.table} where ctid = any(array(
           select ctid from ${rule.table}
           where ${rule.ageColumn} < now() - make_interval(days => $1)${rule.where ? ` and (${rule.where})` : ""}
           order by ${rule.ageColumn}
           limit $2))`,
        [rule.days, this.options.batchSize],
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

  /** Runs every rule once; answers the rows deleted per rule and whether any rule has more waiting. */
  async purge(): Promise<{ deleted: Record<string, number>; backlog: boolean }> {
    const deleted: Record<string, number> = {};
    let backlog = false;
    for (const rule of this.rules) {
      let count = 0;
      let batches = 0;
      try {
        for (; batches < this.options.maxBatchesPerPass && !this.#stopped; batches++) {
          const removed = await this.#deleteBatch(rule);
          count += removed;
          this.#deleted?.inc({ rule: rule.name }, removed);
          if (removed < this.options.batchSize) break;
        }
        if (batches === this.options.maxBatchesPerPass) backlog = true;
        if (count > 0 || batches === this.options.maxBatchesPerPass) {
          this.logger.info(
            {
              rule: rule.name,
              deleted: count,
              older_than_days: rule.days,
              backlog: batches === this.options.maxBatchesPerPass,
            },
            "retention deleted old rows",
          );
        }
      } catch (error) {
        this.#failures?.inc({ rule: rule.name });
        this.logger.error(
          { rule: rule.name, deleted: count, ...safeErrorFields(error) },
          "retention failed; the rule runs again next pass",
        );
      }
      deleted[rule.name] = count;
    }
    return { deleted, backlog };
  }

  start(): void {
    const run = () => {
      if (this.#stopped || this.#pass) return;
      this.#pass = this.purge()
        .then(({ backlog }) => backlog && this.#schedule(this.options.backlogIntervalMs ?? 60_000))
        .catch((error) => this.logger.error({ ...safeErrorFields(error) }, "retention pass failed"))
        .finally(() => {
          this.#pass = undefined;
        });
    };
    this.#schedule = (delay: number) => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        run();
        this.#schedule(this.options.intervalMs);
      }, delay);
      this.#timer.unref();
    };
    run();
    this.#schedule(this.options.intervalMs);
  }

  #schedule: (delay: number) => void = () => undefined;

  /** Stops scheduling and waits for a running pass, which ends after its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#pass;
  }
}
