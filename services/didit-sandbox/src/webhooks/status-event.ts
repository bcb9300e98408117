import { randomUUID } from "node:crypto";
import { decisionBody } from "../decision.js";
import type { SandboxSession } from "../store.js";

/** Statuses whose webhook carries the decision (docs/DIDIT.md#webhooks). */
const WITH_DECISION = new Set(["Approved", "Declined", "In Review", "Abandoned"]);

/** A `status.updated` event without its per-attempt `timestamp` (docs/DIDIT.md#webhooks). */
export type PendingWebhookEvent = Record<string, unknown> & { event_id: string; session_id: string };

export function statusUpdatedEvent(session: SandboxSession, createdAtSeconds: number): PendingWebhookEvent {
  const event: PendingWebhookEvent = {
    event_id: randomUUID(),
    webhook_type: "status.updated",
    created_at: createdAtSeconds,
    application_id: session.application_id,
    environment: "live",
    session_id: session.session_id,
    status: session.status,
    workflow_id: session.workflow_id,
    workflow_version: session.workflow_version,
    vendor_data: session.vendor_data,
    metadata: session.metadata,
  };
  if (WITH_DECISION.has(session.status)) event.decision = decisionBody(session);
  if (session.session_kind === "business") {
    event.session_kind = "business";
    event.business_session_id = session.session_id;
  }
  return event;
}
