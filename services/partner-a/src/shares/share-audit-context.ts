import type { AuditEntry } from "../audit/audit-log.js";
import type { shares } from "../db/schema/index.js";

/** What every audit event about a share carries: its user, audience, purpose, scope and token. */
export function shareAuditContext(share: typeof shares.$inferSelect): Omit<AuditEntry, "action" | "outcome"> {
  return {
    userId: share.userId,
    audience: share.audience,
    purpose: share.purpose,
    scope: share.scope,
    shareId: share.shareId,
    tokenId: share.tokenId,
    tokenExpiresAt: share.tokenExpiresAt,
  };
}
