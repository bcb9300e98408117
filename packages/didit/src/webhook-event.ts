import type { SessionDecision, SessionKind } from "./api-types.js";
import { isSessionStatus, type SessionStatus } from "./status.js";

/**
 * Didit's documented `webhook_type` values (docs/DIDIT.md#webhooks); there is no `session.status.updated` nor
 * `kyc.completed`.
 */
export type WebhookType =
  | "status.updated"
  | "data.updated"
  | "user.status.updated"
  | "user.data.updated"
  | "business.status.updated"
  | "business.data.updated"
  | "activity.created"
  | "transaction.created"
  | "transaction.status.updated";

/**
 * A verified webhook body (docs/DIDIT.md#webhooks). Only `event_id`, `webhook_type` and `timestamp` are
 * checked by the verifier: session fields are absent from activity and transaction events, so they stay
 * optional here; narrow with `isSessionEvent`.
 */
export interface WebhookEvent {
  /** Stable across Didit's retries of one delivery: the deduplication key. */
  event_id: string;
  /** One of `WebhookType`, kept as string so a new Didit event type is not a verification failure. */
  webhook_type: string;
  /**
   * Unix seconds of this attempt; the signed freshness reference (never X-Timestamp: docs/DIDIT.md#traps).
   */
  timestamp: number;
  created_at?: number;
  application_id?: string;
  environment?: string;
  session_id?: string;
  status?: string;
  workflow_id?: string;
  workflow_version?: number;
  vendor_data?: string | null;
  metadata?: Record<string, unknown> | null;
  /** Present for Approved, Declined, In Review and Abandoned; same shape as GET decision. */
  decision?: SessionDecision | null;
  /** Only on KYB payloads. */
  session_kind?: SessionKind;
  business_session_id?: string;
  [field: string]: unknown;
}

/** A session status event: carries the session id and a status spelled as Didit spells it. */
export interface SessionWebhookEvent extends WebhookEvent {
  session_id: string;
  status: SessionStatus;
}

export function isSessionEvent(event: WebhookEvent): event is SessionWebhookEvent {
  return typeof event.session_id === "string" && isSessionStatus(event.status);
}
