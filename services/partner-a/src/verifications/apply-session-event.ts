import { isFinished, type SessionWebhookEvent } from "@share-broker/didit";
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
 * Applies one verified Didit event exactly once (event_id is the key) and never lets an older
 * event overwrite a newer status.
 */
export async function applySessionEvent(
  db: Database,
  audit: AuditLog,
  event: SessionWebhookEvent,
  requestId: string,
): Promise<EventOutcome> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(webhookEvents)
      .values({
        eventId: event.event_id,
        sessionId: event.session_id ?? null,
        webhookType: event.webhook_type,
        status: event.status ?? null,
        applied: "pending",
      })
      .onConflictDoNothing()
      .returning({ eventId: webhookEvents.eventId });
    if (inserted.length === 0) return "duplicate";

    const record = async (outcome: Exclude<EventOutcome, "duplicate">) => {
      await tx
        .update(webhookEvents)
        .set({ applied: outcome })
        .where(eq(webhookEvents.eventId, event.event_id));
      return outcome;
    };
    if (!event.session_id || typeof event.status !== "string") return record("ignored");

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
      details: { session_id: event.session_id, event_id: event.event_id, from: current?.status ?? null },
    });
    return record("applied");
  });
}
