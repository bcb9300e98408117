import { type Purpose, type Scope, SHARE_STATES, type ShareState } from "@share-broker/contracts";
import { oneOf } from "@share-broker/service-kit";
import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/**
 * A share: accepted → minted → sent → imported | rejected | expired | failed | cancelled | revoked.
 * The share token itself is never stored: only its SHA-256 (token_hash) and a short id for audit.
 */
export const shares = pgTable(
  "shares",
  {
    shareId: uuid("share_id").primaryKey(),
    consentId: uuid("consent_id").notNull(),
    userId: text("user_id").notNull(),
    // Copied from the consent: lets a result and its audit event be applied in one statement.
    userPseudonym: text("user_pseudonym"),
    sessionId: uuid("session_id").notNull(),
    audience: text("audience").notNull(),
    purpose: text("purpose").$type<Purpose>().notNull(),
    scope: text("scope").$type<Scope>().notNull(),
    ttlSeconds: integer("ttl_seconds").notNull(),
    status: text("status").$type<ShareState>().notNull(),
    reason: text("reason"),
    tokenHash: text("token_hash"),
    tokenId: text("token_id"),
    tokenExpiresAt: timestamp("token_expires_at", { withTimezone: true }),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    // Re-sends after the channel lost the message (Redis flushed, result never came back).
    redrives: integer("redrives").notNull().default(0),
    lastRedriveAt: timestamp("last_redrive_at", { withTimezone: true }),
    importStatus: text("import_status"),
    importSessionStatus: text("import_session_status"),
    importReason: text("import_reason"),
    importAt: timestamp("import_at", { withTimezone: true }),
    // Revocation: set when the consent was withdrawn or expired after the token left (sent, expired
    // or imported shares). partner-b is sent a share-revoke until a result says it took it.
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokeSentAt: timestamp("revoke_sent_at", { withTimezone: true }),
    revokeSends: integer("revoke_sends").notNull().default(0),
    revokeAckedAt: timestamp("revoke_acked_at", { withTimezone: true }),
    // The `sequence` of the last import result applied (null: none yet). A result whose sequence is
    // not above it is a replay or an older result and is refused, so results apply once and in order.
    importResultSequence: integer("import_result_sequence"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("shares_idempotency_key_idx").on(table.idempotencyKey),
    index("shares_consent_idx").on(table.consentId),
    index("shares_status_idx").on(table.status),
    // The reconciler's look for revocations partner-b has not acknowledged: few rows, found directly.
    index("shares_revocation_pending_idx")
      .on(table.revokeSentAt)
      .where(sql`${table.revokedAt} is not null and ${table.revokeAckedAt} is null`),
    check("shares_status_check", oneOf(table.status, SHARE_STATES)),
    // GET /v1/shares pages newest first by (created_at, share_id).
    index("shares_created_idx").on(table.createdAt, table.shareId),
  ],
);
