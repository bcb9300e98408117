import { sql } from "drizzle-orm";
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * The results outbox: one row per import result to send to the source partner, written in the same
 * transaction as the outcome (or status change) it reports. The result sender leases rows, sends,
 * then marks them sent; a crash in between sends again under the same job id, which the queue dedups.
 */
export const resultOutbox = pgTable(
  "result_outbox",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    importId: uuid("import_id").notNull(),
    // 0 for the first result of an import, then 1, 2 … for refreshes and re-sends; the payload's
    // `sequence`, by which the sharer refuses replayed and older results, is seq + 1.
    seq: integer("seq").notNull(),
    // `<share_id>` for the first result, `<share_id>-<seq>` afterwards.
    jobId: text("job_id").notNull(),
    sourcePartner: text("source_partner").notNull(),
    kind: text("kind").notNull(), // outcome | status_update | resend
    payload: jsonb("payload").notNull(),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull().defaultNow(),
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("result_outbox_import_seq_idx").on(table.importId, table.seq),
    // The sender claims unsent rows by due time: indexing only those keeps each claim independent of
    // how many results were ever sent (a plain due_at index walks every sent row first).
    index("result_outbox_unsent_due_idx").on(table.dueAt).where(sql`${table.sentAt} is null`),
    // Retention deletes sent rows by age (SENT_RESULT_RETENTION_DAYS).
    index("result_outbox_sent_at_idx").on(table.sentAt).where(sql`${table.sentAt} is not null`),
  ],
);
