import { Counter, type Registry } from "prom-client";
import type { Logger } from "./logger.js";

export const BATCH_FALLBACKS_METRIC = "share_broker_batch_fallbacks_total";

/**
 * A service's batch statements, each named by its `batch` label value (stable: dashboards and
 * alerts key on it) and mapped to what its items do when it fails, which the warning repeats.
 */
export type BatchCatalog = Readonly<Record<string, string>>;

/** SQLSTATE classes (the code's first two characters), so a warning reads without a lookup. */
const SQLSTATE_CLASSES: Readonly<Record<string, string>> = {
  "08": "connection_exception",
  "22": "data_exception",
  "23": "integrity_constraint_violation",
  "25": "invalid_transaction_state",
  "40": "transaction_rollback",
  "42": "syntax_error_or_access_rule_violation",
  "53": "insufficient_resources",
  "54": "program_limit_exceeded",
  "55": "object_not_in_prerequisite_state",
  "57": "operator_intervention",
  "58": "system_error",
  XX: "internal_error",
};

/** Codes and names: SQLSTATEs, errno codes, error classes, schema identifiers. Nothing longer or freer. */
const IDENTIFIER = /^[A-Za-z0-9_.$-]{1,63}$/;

const SCHEMA_FIELDS = ["schema", "table", "column", "constraint", "dataType"] as const;

function identifier(value: unknown): string | undefined {
  return typeof value === "string" && IDENTIFIER.test(value) ? value : undefined;
}

/**
 * What a warning may say about a failed batch's error. Never its message nor pg's `detail`, `where`
 * or `hint`: Postgres puts input values in them (`invalid input syntax for type uuid: "…"`, `Key
 * (idempotency_key)=(…) already exists`, `Failing row contains (…)`), and drizzle's wrapper puts the
 * statement's parameters in its message. Only fields the server fills with codes and schema names
 * are kept, from the error or, when drizzle wrapped it, from its cause.
 */
export function safeErrorFields(error: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  // The class (DatabaseError, DrizzleQueryError…): pg's errors all carry the same `name`.
  const name = error instanceof Error ? identifier(error.constructor.name) : undefined;
  if (name) fields.error = name;
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 4; depth++) {
    const code = identifier((current as { code?: unknown }).code);
    if (code) {
      fields.code = code;
      const sqlstateClass = /^[0-9A-Z]{5}$/.test(code) ? SQLSTATE_CLASSES[code.slice(0, 2)] : undefined;
      if (sqlstateClass) fields.sqlstate_class = sqlstateClass;
      for (const key of SCHEMA_FIELDS) {
        const value = identifier((current as Record<string, unknown>)[key]);
        if (value) fields[key === "dataType" ? "data_type" : key] = value;
      }
      break;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return fields;
}

/**
 * Owns `share_broker_batch_fallbacks_total{batch}` and the warning that goes with each increment:
 * every batch statement that fails and leaves its items to a slower path is logged and counted
 * here, so a broken statement shows up as a warning and a rising counter, not only as throughput
 * quietly lost. One per service, on the registry its /metrics serves.
 */
export class BatchFallbacks<Catalog extends BatchCatalog> {
  readonly #counter: Counter<"batch">;

  constructor(
    registry: Registry,
    private readonly logger: Logger,
    private readonly catalog: Catalog,
  ) {
    this.#counter =
      (registry.getSingleMetric(BATCH_FALLBACKS_METRIC) as Counter<"batch"> | undefined) ??
      new Counter({
        name: BATCH_FALLBACKS_METRIC,
        help: "Batch statements that failed and left their items to a one-at-a-time (or later) path, by batch",
        labelNames: ["batch"] as const,
        registers: [registry],
      });
    // Every series exists from the start at 0, so rate() and alerts see the first fallback.
    for (const batch of Object.keys(catalog)) this.#counter.inc({ batch }, 0);
  }

  /** One failed batch statement of `items` items. */
  record(batch: keyof Catalog & string, error: unknown, items: number): void {
    this.#counter.inc({ batch });
    this.logger.warn(
      { batch, items, fallback: this.catalog[batch], ...safeErrorFields(error) },
      "batch statement failed; its items fell back",
    );
  }

  /** The `onFallback` of a GroupCommit writing `batch`. */
  for(batch: keyof Catalog & string): (error: unknown, items: number) => void {
    return (error, items) => this.record(batch, error, items);
  }
}
