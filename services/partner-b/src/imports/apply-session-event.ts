import {
  isSessionEvent,
  SessionStatus,
  type SessionWebhookEvent,
  type WebhookEvent,
  webhookEventKey,
  webhookSessionId,
} from "@share-broker/didit";
import { eq, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { imports, webhookEvents } from "../db/schema/index.js";
import { enqueueResult } from "../results/result-outbox.js";
import { importAuditContext } from "./import-row.js";

export type EventOutcome = "applied" | "duplicate" | "superseded" | "unchanged" | "ignored";

/**
 * Didit stamps whole seconds, and a review often lands in the second the copy was imported. For
 * equal times the later step of an import's life wins: a decision over "In Review" over the rest.
 */
function rank(status: string): number {
  if (status === SessionStatus.Approved || status === SessionStatus.Declined) return 2;
  return status === SessionStatus.InReview ? 1 : 0;
}

function eventTime(event: SessionWebhookEvent): Date {
  const seconds = typeof event.created_at === "number" ? event.created_at : event.timestamp;
  return new Date(seconds * 1000);
}

/**
 * Records every verified Didit event once (by `webhookEventKey`) and applies a session status event
 * to the import whose copy it is about, exactly once; an older event never overwrites a newer
 * status. Any other event is recorded as ignored and acknowledged (Didit never retries a 4xx). A change of an imported session's status
 * (a compliance review) is reported to the sharer as a refreshed result.
 */
export async function applySessionEvent(
  db: Database,
  audit: AuditLog,
  event: WebhookEvent,
  requestId: string,
): Promise<{ outcome: EventOutcome; resultQueued: boolean }> {
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
    if (inserted.length === 0) return { outcome: "duplicate", resultQueued: false };

    const record = async (outcome: Exclude<EventOutcome, "duplicate">, resultQueued = false) => {
      await tx.update(webhookEvents).set({ applied: outcome }).where(eq(webhookEvents.eventId, key));
      return { outcome, resultQueued };
    };
    if (!isSessionEvent(event)) return record("ignored");
    const [current] = await tx
      .select()
      .from(imports)
      .where(eq(imports.diditSessionId, event.session_id))
      .for("update");
    // Not one of our imported copies (e.g. a session created in Didit's console).
    if (!current) return record("ignored");

    const at = eventTime(event);
    const previousAt = current.diditStatusAt ?? new Date(0);
    const newer =
      at > previousAt ||
      (at.getTime() === previousAt.getTime() &&
        event.status !== current.diditStatus &&
        rank(event.status) >= rank(current.diditStatus ?? ""));
    if (!newer) return record("superseded");
    const [updated] = await tx
      .update(imports)
      .set({
        diditStatus: event.status,
        diditStatusAt: at,
        // A decided review frees the import for another one, should it ever return to In Review.
        reviewRequestedAt: null,
        updatedAt: sql`now()`,
      })
      .where(eq(imports.importId, current.importId))
      .returning();
    if (!updated) throw new Error("import vanished under its row lock");
    if (current.diditStatus === event.status) return record("unchanged");
    await audit.record(tx, {
      ...importAuditContext(updated),
      action: "import.session_status_changed",
      outcome: event.status,
      requestId,
      details: { didit_session_id: event.session_id, event_key: key, from: current.diditStatus },
    });
    const report = updated.status === "imported";
    if (report) await enqueueResult(tx, updated, "status_update", new Date());
    return record("applied", report);
  });
}
