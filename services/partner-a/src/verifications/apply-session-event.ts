import {
  isFinished,
  isSessionEvent,
  type SessionWebhookEvent,
  type WebhookEvent,
  webhookEventKey,
  webhookSessionId,
} from "@share-broker/didit";
import { eq, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { verificationSessions, webhookEvents } from "../db/schema/index.js";

export type EventOutcome = "applied" | "duplicate" | "superseded" | "ignored";

/** When two events carry the same second, a finished status outranks an unfinished one. */
function rank(status: string): number {
  return isFinished(status) ? 1 : 0;
}

function eventTime(event: SessionWebhookEvent): Date {
  const seconds = typeof event.created_at === "number" ? event.created_at : event.timestamp;
  return new Date(seconds * 1000);
}

/**
 * Records every verified Didit event once (by `webhookEventKey`) and applies a session status event
 * exactly once, never letting an older event overwrite a newer status. Any other event (a type this
 * service does not act on, a status it does not know) is recorded as ignored and acknowledged: Didit
 * would retry a 4xx never, and a 5xx needlessly.
 */
export async function applySessionEvent(
  db: Database,
  audit: AuditLog,
  event: WebhookEvent,
  requestId: string,
): Promise<EventOutcome> {
  const key = webhookEventKey(event);
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(webhookEvents)
      .values({
        eventId: key,
        sessionId: webhookSessionId(event),
        webhookType: event.webhook_type,
        status: typeof event.status === "string" ? event.status : null,
        applied: "pending",
      })
      .onConflictDoNothing()
      .returning({ eventId: webhookEvents.eventId });
    if (inserted.length === 0) return "duplicate";

    const record = async (outcome: Exclude<EventOutcome, "duplicate">) => {
      await tx.update(webhookEvents).set({ applied: outcome }).where(eq(webhookEvents.eventId, key));
      return outcome;
    };
    if (!isSessionEvent(event)) return record("ignored");

    const at = eventTime(event);
    const [current] = await tx
      .select()
      .from(verificationSessions)
      .where(eq(verificationSessions.sessionId, event.session_id))
      .for("update");
    if (!current) {
      // A session created outside this service (e.g. in Didit's console) for one of our users.
      if (!event.vendor_data || !event.workflow_id) return record("ignored");
      await tx.insert(verificationSessions).values({
        sessionId: event.session_id,
        userId: event.vendor_data,
        kind: "external",
        workflowId: event.workflow_id,
        status: event.status,
        statusAt: at,
      });
    } else {
      const newer =
        at > current.statusAt ||
        (at.getTime() === current.statusAt.getTime() && rank(event.status) > rank(current.status));
      if (!newer) return record("superseded");
      await tx
        .update(verificationSessions)
        .set({ status: event.status, statusAt: at, updatedAt: sql`now()` })
        .where(eq(verificationSessions.sessionId, event.session_id));
    }
    await audit.record(tx, {
      action: "verification.status_changed",
      outcome: event.status,
      userId: current?.userId ?? event.vendor_data ?? null,
      requestId,
      details: { session_id: event.session_id, event_key: key, from: current?.status ?? null },
    });
    return record("applied");
  });
}
