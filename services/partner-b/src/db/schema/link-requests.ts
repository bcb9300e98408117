import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/**
 * Link requests: a single-use code partner-b issued for one of its users (user_ref), which an
 * offer must carry for partner-b to import, and which decides the import's vendor_data. Only the
 * code's SHA-256 is kept. A code is open until expires_at, and spent (used_at, import_id) by the
 * receipt of the first offer that carries it, in the same statement that records that receipt.
 *
 * import_id references imports(import_id), DEFERRABLE INITIALLY DEFERRED (migration 0004, by hand:
 * drizzle cannot declare it): a redemption whose receipt lost a race for its share id fails at
 * commit instead of pointing at an import that does not exist.
 */
export const linkRequests = pgTable(
  "link_requests",
  {
    linkId: uuid("link_id").primaryKey(),
    userRef: text("user_ref").notNull(),
    // The only partner that may redeem the code; null: any registered partner.
    source: text("source"),
    codeHash: text("code_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    importId: uuid("import_id"),
  },
  (table) => [
    uniqueIndex("link_requests_code_hash_idx").on(table.codeHash),
    uniqueIndex("link_requests_import_idx").on(table.importId),
    // Retention deletes link requests some days after they expire (LINK_REQUEST_RETENTION_DAYS).
    index("link_requests_expires_idx").on(table.expiresAt),
  ],
);
