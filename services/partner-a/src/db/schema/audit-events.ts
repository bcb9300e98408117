import type { PartnerAAuditAction } from "@share-broker/contracts";
import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Append-only audit trail (docs/ARCHITECTURE.md#invariants): never updated; only the retention job deletes.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
    action: text("action").$type<PartnerAAuditAction>().notNull(),
    userPseudonym: text("user_pseudonym"),
    audience: text("audience"),
    purpose: text("purpose"),
    scope: text("scope"),
    shareId: uuid("share_id"),
    tokenId: text("token_id"),
    tokenExpiresAt: timestamp("token_expires_at", { withTimezone: true }),
    outcome: text("outcome").notNull(),
    requestId: text("request_id"),
    /** The API principal whose request caused the event; null for background work. */
    principal: text("principal"),
    details: jsonb("details").notNull().default({}),
  },
  (table) => [
    index("audit_events_occurred_at_idx").on(table.occurredAt),
    index("audit_events_share_id_idx").on(table.shareId),
    index("audit_events_user_idx").on(table.userPseudonym),
  ],
);
