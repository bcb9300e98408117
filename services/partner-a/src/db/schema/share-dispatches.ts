import { index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * The outbox: one row per share that still has to be minted and sent, written in the same
 * transaction as the share. The dispatcher leases rows; a crashed holder's lease simply expires.
 * The due index lets a claim read its batch in due order and stop there: without it each claim
 * scanned and sorted the whole outbox, so claims slowed down as a burst's backlog grew.
 */
export const shareDispatches = pgTable(
  "share_dispatches",
  {
    shareId: uuid("share_id").primaryKey(),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull().defaultNow(),
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("share_dispatches_due_idx").on(table.dueAt)],
);
