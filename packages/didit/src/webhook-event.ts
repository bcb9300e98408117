import { createHash } from "node:crypto";
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
 * A verified webhook body (docs/DIDIT.md#webhooks). Only `webhook_type` and `timestamp` are required
 * by the verifier (and `event_id`, when present, must be a string): session fields are absent from
 * activity and transaction events, so they stay optional here; narrow with `isSessionEvent`.
 */
export interface WebhookEvent {
  /**
   * Not in Didit's session-webhook documentation (only in a plugin's hand-built sample): used as the
   * deduplication key when a delivery carries it, never required. See `webhookEventKey`.
   */
  event_id?: string;
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

/**
 * The key a receiver deduplicates one event on: Didit's `event_id` when the body carries one, else a
 * hash of what identifies the event in the documented body (session, status, type and the signed
 * timestamp), prefixed so the two kinds can never collide.
 */
export function webhookEventKey(event: WebhookEvent): string {
  if (typeof event.event_id === "string" && event.event_id.length > 0) return event.event_id;
  const identity = JSON.stringify([
    typeof event.session_id === "string" ? event.session_id : null,
    typeof event.status === "string" ? event.status : null,
    event.webhook_type,
    event.timestamp,
  ]);
  return `sha256:${createHash("sha256").update(identity).digest("hex")}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The event's `session_id` when it is a UUID (every Didit session id is), else null: safe to store in a uuid column. */
export function webhookSessionId(event: WebhookEvent): string | null {
  return typeof event.session_id === "string" && UUID.test(event.session_id) ? event.session_id : null;
}
