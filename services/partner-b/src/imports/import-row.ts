import type { AuditEntry } from "../audit/audit-log.js";
import type { imports } from "../db/schema/index.js";

export type ImportRow = typeof imports.$inferSelect;

export const IMPORT_STATES = ["received", "importing", "imported", "rejected", "failed"] as const;
export type ImportState = (typeof IMPORT_STATES)[number];
export const OPEN_IMPORT_STATES = ["received", "importing"] as const;
export const TERMINAL_IMPORT_STATES = ["imported", "rejected", "failed"] as const;

export function isTerminalImportState(status: string): boolean {
  return (TERMINAL_IMPORT_STATES as readonly string[]).includes(status);
}

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
