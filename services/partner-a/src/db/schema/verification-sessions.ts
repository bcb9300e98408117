import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** The user's Didit sessions, as created here and updated by signed webhooks. */
export const verificationSessions = pgTable(
  "verification_sessions",
  {
    sessionId: uuid("session_id").primaryKey(),
    userId: text("user_id").notNull(),
    kind: text("kind").notNull(), // first | reauth | external (seen only through a webhook)
    workflowId: uuid("workflow_id").notNull(),
    status: text("status").notNull(),
    url: text("url"),
    // When Didit produced the status we hold (the event's created_at): older events never win.
    statusAt: timestamp("status_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("verification_sessions_user_idx").on(table.userId, table.createdAt)],
);
