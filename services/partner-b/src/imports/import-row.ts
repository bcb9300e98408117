import type { AuditEntry } from "../audit/audit-log.js";
import type { imports } from "../db/schema/index.js";

export type ImportRow = typeof imports.$inferSelect;

/** The audit fields every event about an import carries. */
export function importAuditContext(row: ImportRow): Omit<AuditEntry, "action" | "outcome"> {
  return {
    userPseudonym: row.userPseudonym,
    sourcePartner: row.sourcePartner,
    purpose: row.purpose,
    scope: row.scope,
    shareId: row.shareId,
    importId: row.importId,
    tokenId: row.tokenId,
    tokenExpiresAt: row.tokenExpiresAt,
  };
}
