import { isoSeconds } from "./clock.js";
import type { SandboxSession } from "./store.js";

/**
 * `GET /v3/session/{id}/decision/` (docs/DIDIT.md#decision-update-status-list-delete), plus the sandbox's
 * `shared_from_session`.
 */
export function decisionBody(session: SandboxSession): Record<string, unknown> {
  return {
    session_id: session.session_id,
    session_kind: session.session_kind,
    session_number: session.session_number,
    session_url: session.url,
    status: session.status,
    environment: "live",
    workflow_id: session.workflow_id,
    workflow_version: session.workflow_version,
    features: [...session.features],
    vendor_data: session.vendor_data,
    metadata: session.metadata,
    expected_details: session.expected_details,
    contact_details: session.contact_details,
    callback: session.callback,
    created_at: isoSeconds(session.created_at_ms),
    reviews: session.reviews,
    shared_from_session: session.shared_from_session,
    ...session.blocks.unpack(),
  };
}

/** One row of `GET /v3/sessions/` (docs/DIDIT.md#decision-update-status-list-delete). */
export function sessionSummary(session: SandboxSession): Record<string, unknown> {
  return {
    session_id: session.session_id,
    session_number: session.session_number,
    session_kind: session.session_kind,
    status: session.status,
    workflow_id: session.workflow_id,
    vendor_data: session.vendor_data,
    created_at: isoSeconds(session.created_at_ms),
    shared_from_session: session.shared_from_session,
  };
}
