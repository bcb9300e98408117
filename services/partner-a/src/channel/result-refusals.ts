import {
  type AppOptions,
  createLabelledCounter,
  type LabelledCounter,
  type Logger,
} from "@share-broker/service-kit";
import type { ResultOutcome } from "../shares/apply-import-result.js";

export const RESULTS_REFUSED_METRIC = "share_broker_results_refused_total";

/** Import results partner-a refuses, by their `reason` label: stable, dashboards key on them. */
export const RESULT_REFUSAL_REASONS = ["replayed", "unknown_share", "wrong_source"] as const;
export type ResultRefusalReason = (typeof RESULT_REFUSAL_REASONS)[number];

function isRefusal(outcome: ResultOutcome): outcome is ResultRefusalReason {
  return (RESULT_REFUSAL_REASONS as readonly string[]).includes(outcome);
}

/**
 * Makes every refused import result seen: a warning and share_broker_results_refused_total{reason}.
 * A refusal is no error of the consumer (its job completes; retrying would refuse it again), so
 * without this a replay attack or a misrouted partner would only show in the audit trail.
 */
export class ResultRefusals {
  readonly #counter: LabelledCounter<ResultRefusalReason>;

  constructor(
    registry: NonNullable<AppOptions["metricsRegistry"]>,
    private readonly logger: Logger,
  ) {
    this.#counter = createLabelledCounter(registry, {
      name: RESULTS_REFUSED_METRIC,
      help: "Import results refused and not applied, by reason (replayed: a sequence not above the last applied)",
      label: "reason",
      values: RESULT_REFUSAL_REASONS,
    });
  }

  /**
   * Counts and logs `outcome` when it is a refusal; answers whether it was. The context names the
   * job and share, never the user.
   */
  record(outcome: ResultOutcome, context: { jobId: string; shareId: string; sequence: number }): boolean {
    if (!isRefusal(outcome)) return false;
    this.#counter.inc(outcome);
    this.logger.warn(
      { reason: outcome, job_id: context.jobId, share_id: context.shareId, sequence: context.sequence },
      "import result refused",
    );
    return true;
  }
}
