import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Didit events already applied, by event_id: a redelivery is acknowledged without a second effect. */
export const webhookEvents = pgTable("webhook_events", {
  eventId: text("event_id").primaryKey(),
  sessionId: uuid("session_id"),
  webhookType: text("webhook_type").notNull(),
  status: text("status"),
  applied: text("applied").notNull(), // applied | superseded | ignored
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
});
