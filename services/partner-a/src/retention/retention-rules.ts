import { OPEN_SHARE_STATES } from "@share-broker/contracts";
import { auditEventsRetention, type RetentionRule } from "@share-broker/service-kit";
import type { PartnerAConfig } from "../config.js";

/** What partner-a's retention job deletes (docs/OPERATIONS.md#configuration). */
export function partnerARetentionRules(config: PartnerAConfig): RetentionRule[] {
  const open = OPEN_SHARE_STATES.map((state) => `'${state}'`).join(", ");
  return [
    auditEventsRetention(config.AUDIT_RETENTION_DAYS),
    // Dedup keys of Didit events: a signed event older than 300 s is refused anyway.
    {
      name: "webhook_events",
      table: "webhook_events",
      ageColumn: "received_at",
      days: config.WEBHOOK_EVENT_RETENTION_DAYS,
    },
    // An outbox row whose share is no longer open (or gone) will never be dispatched.
    {
      name: "share_dispatches",
      table: "share_dispatches",
      ageColumn: "created_at",
      days: config.DISPATCH_LEFTOVER_RETENTION_DAYS,
      where: `not exists (select 1 from shares s where s.share_id = share_dispatches.share_id and s.status in (${open}))`,
    },
  ];
}
