import type { shares } from "../db/schema/index.js";

type ShareRow = typeof shares.$inferSelect;

export const SHARE_STATES = [
  "accepted",
  "minted",
  "sent",
  "imported",
  "rejected",
  "expired",
  "failed",
  "cancelled",
] as const;
export const TERMINAL_SHARE_STATES = ["imported", "rejected", "expired", "failed", "cancelled"] as const;

export function isTerminalShareState(status: string): boolean {
  return (TERMINAL_SHARE_STATES as readonly string[]).includes(status);
}

const nullableString = { type: ["string", "null"] } as const;

export const shareViewSchema = {
  type: "object",
  properties: {
    share_id: { type: "string" },
    status: { type: "string" },
    audience: { type: "string" },
    purpose: { type: "string" },
    scope: { type: "string" },
    consent_id: { type: "string" },
    recipient_ref: nullableString,
    reason: nullableString,
    expires_at: nullableString,
    created_at: { type: "string" },
    updated_at: { type: "string" },
    import: {
      type: ["object", "null"],
      properties: {
        status: { type: "string" },
        session_status: nullableString,
        reason: nullableString,
        at: nullableString,
      },
    },
  },
} as const;

export function shareView(row: ShareRow) {
  return {
    share_id: row.shareId,
    status: row.status,
    audience: row.audience,
    purpose: row.purpose,
    scope: row.scope,
    consent_id: row.consentId,
    recipient_ref: row.recipientRef,
    reason: row.reason,
    expires_at: row.tokenExpiresAt ? row.tokenExpiresAt.toISOString() : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    import: row.importStatus
      ? {
          status: row.importStatus,
          session_status: row.importSessionStatus,
          reason: row.importReason,
          at: row.importAt ? row.importAt.toISOString() : null,
        }
      : null,
  };
}
