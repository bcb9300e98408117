import type { Share } from "@share-broker/contracts";
import type { shares } from "../db/schema/index.js";

type ShareRow = typeof shares.$inferSelect;

/** A share row as the API answers it (the `Share` contract). */
export function shareView(row: ShareRow): Share {
  return {
    share_id: row.shareId,
    user_id: row.userId,
    status: row.status,
    audience: row.audience,
    purpose: row.purpose,
    scope: row.scope,
    consent_id: row.consentId,
    reason: row.reason,
    revoked_at: row.revokedAt ? row.revokedAt.toISOString() : null,
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
