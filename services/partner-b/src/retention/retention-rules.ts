import { auditEventsRetention, type RetentionRule } from "@share-broker/service-kit";
import type { PartnerBConfig } from "../config.js";

/** What partner-b's retention job deletes (docs/OPERATIONS.md#configuration). */
export function partnerBRetentionRules(config: PartnerBConfig): RetentionRule[] {
  return [
    auditEventsRetention(config.AUDIT_RETENTION_DAYS),
    // Dedup keys of Didit events: a signed event older than 300 s is refused anyway.
    {
      name: "webhook_events",
      table: "webhook_events",
      ageColumn: "received_at",
      days: config.WEBHOOK_EVENT_RETENTION_DAYS,
    },
    // Sent results, except each import's latest: the next result of an import is numbered after it.
    {
      name: "result_outbox",
      table: "result_outbox",
      ageColumn: "sent_at",
      days: config.SENT_RESULT_RETENTION_DAYS,
      where:
        "sent_at is not null and exists (select 1 from result_outbox later where later.import_id = result_outbox.import_id and later.seq > result_outbox.seq)",
    },
    // Link requests past their expiry (used or not): the import keeps the user_ref as vendor_data.
    {
      name: "link_requests",
      table: "link_requests",
      ageColumn: "expires_at",
      days: config.LINK_REQUEST_RETENTION_DAYS,
    },
  ];
}
