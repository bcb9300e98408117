import type { Consent } from "@share-broker/contracts";
import type { consents } from "../db/schema/index.js";

type ConsentRow = typeof consents.$inferSelect;

/** A consent row as the API answers it (the `Consent` contract). */
export function consentView(row: ConsentRow): Consent {
  return {
    consent_id: row.consentId,
    user_id: row.userId,
    audience: row.audience,
    purpose: row.purpose,
    scope: row.scope,
    evidence: row.evidence as Record<string, unknown>,
    granted_at: row.grantedAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    withdrawn_at: row.withdrawnAt ? row.withdrawnAt.toISOString() : null,
  };
}
