import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Didit events already applied, by event_id: a redelivery is acknowledged without a second effect.
 * Kept WEBHOOK_EVENT_RETENTION_DAYS (by received_at): a signed event older than 300 s is refused
 * anyway, so an event id forgotten after that cannot be replayed.
 */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    eventId: text("event_id").primaryKey(),
    sessionId: uuid("session_id"),
    webhookType: text("webhook_type").notNull(),
    status: text("status"),
    applied: text("applied").notNull(), // applied | superseded | ignored
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("webhook_events_received_at_idx").on(table.receivedAt)],
);
