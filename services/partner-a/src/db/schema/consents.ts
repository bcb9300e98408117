import type { Purpose, Scope } from "@share-broker/contracts";
import { index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** A user's explicit consent: who, to whom, why, what, until when, with what evidence. */
export const consents = pgTable(
  "consents",
  {
    consentId: uuid("consent_id").primaryKey(),
    userId: text("user_id").notNull(),
    // The user's keyed pseudonym (audit/pseudonym.ts), so a share's audit event can be written by the
    // same statement that accepts it. Null on consents granted before it was kept.
    userPseudonym: text("user_pseudonym"),
    audience: text("audience").notNull(),
    purpose: text("purpose").$type<Purpose>().notNull(),
    scope: text("scope").$type<Scope>().notNull(),
    evidence: jsonb("evidence").notNull().default({}),
    // The audience's single-use link code the user brought (its link request for the user), carried
    // in the share offer. partner-a cannot check it; it is never answered, audited or logged. Null
    // on consents granted before codes were required: their shares fail at dispatch.
    linkCode: text("link_code"),
    grantedAt: timestamp("granted_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    withdrawnAt: timestamp("withdrawn_at", { withTimezone: true }),
  },
  (table) => [index("consents_user_idx").on(table.userId)],
);
