import type { consents } from "../db/schema/index.js";

type ConsentRow = typeof consents.$inferSelect;

export const PURPOSES = ["onboarding", "lending", "payments", "other"] as const;
export const SCOPES = ["kyc", "kyc+aml", "kyc+kyb"] as const;

export const consentViewSchema = {
  type: "object",
  properties: {
    consent_id: { type: "string" },
    user_id: { type: "string" },
    audience: { type: "string" },
    purpose: { type: "string" },
    scope: { type: "string" },
    evidence: { type: "object", additionalProperties: true },
    granted_at: { type: "string" },
    expires_at: { type: "string" },
    withdrawn_at: { type: ["string", "null"] },
    cancelled_share_ids: { type: "array", items: { type: "string" } },
  },
} as const;

export function consentView(row: ConsentRow) {
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
