import type { ImportRow } from "./import-row.js";

const nullableString = { type: ["string", "null"] } as const;

export const importViewSchema = {
  type: "object",
  properties: {
    import_id: { type: "string" },
    share_id: { type: "string" },
    source: { type: "string" },
    status: { type: "string" },
    reason: nullableString,
    vendor_data: { type: "string" },
    recipient_ref: nullableString,
    user_pseudonym: nullableString,
    purpose: nullableString,
    scope: nullableString,
    session_kind: nullableString,
    token_id: { type: "string" },
    token_expires_at: { type: "string" },
    policy: {
      type: ["object", "null"],
      properties: {
        version: nullableString,
        workflow_id: nullableString,
        trust_review: { type: ["boolean", "null"] },
      },
    },
    didit: {
      type: ["object", "null"],
      properties: {
        session_id: { type: "string" },
        status: nullableString,
        shared_from_session: nullableString,
      },
    },
    review: {
      type: ["object", "null"],
      properties: { decision: { type: "string" }, requested_at: nullableString },
    },
    attempts: { type: "integer" },
    received_at: { type: "string" },
    decided_at: nullableString,
    updated_at: { type: "string" },
  },
} as const;

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function importView(row: ImportRow) {
  return {
    import_id: row.importId,
    share_id: row.shareId,
    source: row.sourcePartner,
    status: row.status,
    reason: row.reason,
    vendor_data: row.vendorData,
    recipient_ref: row.recipientRef,
    user_pseudonym: row.userPseudonym,
    purpose: row.purpose,
    scope: row.scope,
    session_kind: row.sessionKind,
    token_id: row.tokenId,
    token_expires_at: row.tokenExpiresAt.toISOString(),
    policy: row.policyVersion
      ? { version: row.policyVersion, workflow_id: row.workflowId, trust_review: row.trustReview }
      : null,
    didit: row.diditSessionId
      ? {
          session_id: row.diditSessionId,
          status: row.diditStatus,
          shared_from_session: row.sharedFromSession,
        }
      : null,
    review: row.reviewDecision
      ? { decision: row.reviewDecision, requested_at: iso(row.reviewRequestedAt) }
      : null,
    attempts: row.attempts,
    received_at: row.receivedAt.toISOString(),
    decided_at: iso(row.decidedAt),
    updated_at: row.updatedAt.toISOString(),
  };
}
