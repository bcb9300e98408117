import type { BatchFallbacks } from "@share-broker/service-kit";

/**
 * partner-a's batch statements, by their `batch` label on share_broker_batch_fallbacks_total, and
 * what their items do when one fails. The names are stable: dashboards and alerts key on them.
 */
export const PARTNER_A_BATCHES = {
  accept_share: "each request takes its own transaction, which also explains refusals",
  apply_import_result: "each result is read, then applied on its own",
  dispatch_reschedule: "the shares stay leased until their lease lapses, then are claimed again",
} as const;

export type PartnerABatchFallbacks = BatchFallbacks<typeof PARTNER_A_BATCHES>;
