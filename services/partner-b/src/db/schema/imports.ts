import { IMPORT_STATES, type ImportState, type ReviewDecision } from "@share-broker/contracts";
import { oneOf } from "@share-broker/service-kit";
import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * One row per share offer received: received → importing → imported | rejected | failed | revoked. A first
 * receipt is stored already claimed by its delivery (importing); `received` is an unclaimed receipt.
 * (source_partner, share_id) is unique, so a redelivered offer finds its first receipt. The share
 * token itself is never stored: only its SHA-256 (token_hash) and a short id for audit.
 */
export const imports = pgTable(
  "imports",
  {
    importId: uuid("import_id").primaryKey(),
    // Insertion order, for newest-first cursor pagination.
    seq: bigserial("seq", { mode: "bigint" }).notNull(),
    sourcePartner: text("source_partner").notNull(),
    shareId: text("share_id").notNull(),
    status: text("status").$type<ImportState>().notNull(),
    reason: text("reason"),
    userPseudonym: text("user_pseudonym"),
    purpose: text("purpose"),
    scope: text("scope"),
    consentId: text("consent_id"),
    sessionKind: text("session_kind"),
    // The link request the offer's code redeemed (link_requests), and its user_ref: partner-b's own
    // user, fixed at receipt so every retry imports for the same user. Both null when the code was refused.
    linkId: uuid("link_id"),
    vendorData: text("vendor_data"),
    tokenHash: text("token_hash").notNull(),
    tokenId: text("token_id").notNull(),
    tokenExpiresAt: timestamp("token_expires_at", { withTimezone: true }).notNull(),
    // From the token's unverified claims: used only to recognise our own imported copy when reconciling.
    claimedSourceSession: text("claimed_source_session"),
    workflowId: uuid("workflow_id"),
    trustReview: boolean("trust_review"),
    policyVersion: text("policy_version"),
    diditSessionId: uuid("didit_session_id"),
    diditStatus: text("didit_status"),
    // When Didit produced the status we hold: older webhook events never win.
    diditStatusAt: timestamp("didit_status_at", { withTimezone: true }),
    sharedFromSession: text("shared_from_session"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    // The delivery (BullMQ job id) working on the import, and until when others must keep off.
    leaseOwner: text("lease_owner"),
    leasedUntil: timestamp("leased_until", { withTimezone: true }),
    // The sharer revoked the share after this import finished: a notice, shown by the API.
    consentWithdrawnAt: timestamp("consent_withdrawn_at", { withTimezone: true }),
    // Set when a revocation closed an import a delivery was working on: Didit may hold a copy made
    // in that window (or by a delivery that died), which the reconciler finds and deletes.
    revokedCopyCheckAt: timestamp("revoked_copy_check_at", { withTimezone: true }),
    reviewDecision: text("review_decision").$type<ReviewDecision>(),
    reviewRequestedAt: timestamp("review_requested_at", { withTimezone: true }),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    // Set by DELETE /v1/imports/{id}: the Didit copy is gone and no column names the user any more.
    erasedAt: timestamp("erased_at", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("imports_source_share_idx").on(table.sourcePartner, table.shareId),
    uniqueIndex("imports_seq_idx").on(table.seq),
    uniqueIndex("imports_didit_session_idx").on(table.diditSessionId),
    index("imports_vendor_data_idx").on(table.vendorData),
    index("imports_status_idx").on(table.status),
    index("imports_revoked_copy_check_idx")
      .on(table.revokedCopyCheckAt)
      .where(sql`${table.revokedCopyCheckAt} is not null`),
    check("imports_status_check", oneOf(table.status, IMPORT_STATES)),
  ],
);
