import type { Import } from "@share-broker/contracts";
import type { ImportRow } from "./import-row.js";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** An import row as the API answers it (the `Import` contract). */
export function importView(row: ImportRow): Import {
  return {
    import_id: row.importId,
    share_id: row.shareId,
    source: row.sourcePartner,
    status: row.status,
    reason: row.reason,
    vendor_data: row.vendorData,
    link_id: row.linkId,
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
    consent_withdrawn_at: iso(row.consentWithdrawnAt),
    attempts: row.attempts,
    received_at: row.receivedAt.toISOString(),
    decided_at: iso(row.decidedAt),
    erased_at: iso(row.erasedAt),
    updated_at: row.updatedAt.toISOString(),
  };
}
