import type { BatchFallbacks } from "@share-broker/service-kit";

/**
 * partner-b's batch statements, by their `batch` label on share_broker_batch_fallbacks_total, and
 * what their items do when one fails. The names are stable: dashboards and alerts key on them.
 */
export const PARTNER_B_BATCHES = {
  import_store_insert: "each first receipt takes its own insert",
  import_store_finish_imported: "each success takes its own statement",
  result_mark_sent: "the results are rescheduled and sent again, which the sharer takes once",
  result_reschedule: "the results stay leased until their lease lapses, then are claimed again",
} as const;

export type PartnerBBatchFallbacks = BatchFallbacks<typeof PARTNER_B_BATCHES>;
