import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PARTNER_B_BATCHES } from "../src/batches.js";
import type { ImportRow } from "../src/imports/import-row.js";
import type { Lease, ReceivedOffer } from "../src/imports/import-store.js";
import { inProcessPartnerB } from "./support/in-process.js";
import { copyOf, offerOf } from "./support/offers.js";

// The result sender marks a batch of results sent, or reschedules a batch whose sends failed, in one
// statement each. When such a statement fails, nothing may be lost (the results go out again later)
// and the failure must be seen: a warning naming the batch, and share_broker_batch_fallbacks_total.
// Each test makes the statement fail for real, with a value Postgres refuses inside the batch.

let b: Awaited<ReturnType<typeof inProcessPartnerB>>;

beforeAll(async () => {
  b = await inProcessPartnerB();
});

afterAll(async () => {
  await b?.close();
});

const lease: Lease = {
  seconds: 30,
  policy: { workflowId: randomUUID(), trustReview: true, policyVersion: "policy-f" },
};

/** An import that reached its outcome, with that result waiting in the outbox. */
async function importedWithResult(): Promise<ImportRow & { offer: ReceivedOffer }> {
  const offer = offerOf();
  const { row } = await b.store.receive(offer, `job-${offer.shareId}`, lease);
  const imported = await b.store.recordImported(row, copyOf(offer), {});
  if (!imported) throw new Error("the import was expected to finish");
  return { ...imported, offer };
}

function outboxOf(importId: string) {
  return b.query<{
    job_id: string;
    attempts: number;
    sent_at: Date | null;
    leased_until: Date | null;
    due_at: Date;
    last_error: string | null;
  }>("select * from result_outbox where import_id = $1 order by seq", [importId]);
}

function sentEventsOf(shareId: string) {
  return b.query<{ details: Record<string, unknown> }>(
    "select details from audit_events where share_id = $1 and action = 'result.sent'",
    [shareId],
  );
}

/** Sends everything due, so a test's batch holds only its own results. */
async function drainAll() {
  while ((await b.sender.drainOnce()) > 0);
}

async function eventuallySent(drain: () => Promise<number>, count: number, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let sent = 0;
  while (sent < count && Date.now() < deadline) {
    sent += await drain();
    if (sent < count) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(sent).toBe(count);
}

/** Runs `work` and returns the fallback warnings of `batch` it logged; checks it was counted once. */
async function oneFallbackOf(batch: keyof typeof PARTNER_B_BATCHES, work: () => Promise<void>) {
  const counted = (await b.recorded.count(batch)) ?? 0;
  const warned = b.recorded.warnings(batch).length;
  const lines = b.recorded.lines.length;
  await work();
  expect(await b.recorded.count(batch)).toBe(counted + 1);
  return {
    warnings: b.recorded.warnings(batch).slice(warned),
    logged: b.recorded.lines.slice(lines).join("\n"),
  };
}

describe("result sender batch fallbacks", () => {
  it("marks results sent later when marking the batch fails: nothing lost, counted and logged once", async () => {
    await drainAll();
    const poisoned = await importedWithResult();
    const good = await importedWithResult();
    // A result without an outcome makes its "result.sent" event break audit_events' NOT NULL, so the
    // whole mark-sent statement fails. Postgres's detail would then quote the failing row, with its
    // pseudonym and token id, as it does for any such row:
    const probe = await b
      .query("insert into audit_events (action, outcome, user_pseudonym) values ('probe', null, $1)", [
        poisoned.userPseudonym,
      ])
      .catch((error: unknown) => error as { detail?: string });
    expect((probe as { detail?: string }).detail).toContain(poisoned.userPseudonym);
    await b.query("update result_outbox set payload = payload - 'outcome' where import_id = $1", [
      poisoned.importId,
    ]);

    const { warnings, logged } = await oneFallbackOf("result_mark_sent", async () => {
      expect(await b.sender.drainOnce()).toBe(0);
    });
    expect(warnings).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "batch statement failed; its items fell back",
        batch: "result_mark_sent",
        fallback: PARTNER_B_BATCHES.result_mark_sent,
        items: 2,
        error: "DatabaseError",
        code: "23502",
        sqlstate_class: "integrity_constraint_violation",
        table: "audit_events",
        column: "outcome",
      }),
    ]);
    for (const row of [poisoned, good]) {
      for (const value of [row.userPseudonym, row.tokenId as string, row.offer.tokenHash]) {
        expect(logged).not.toContain(value);
      }
    }

    // Both were handed to the queue once, then put back to be sent again, not marked and not lost.
    for (const row of [poisoned, good]) {
      expect(b.sent.filter((result) => result.jobId === row.shareId)).toHaveLength(1);
      const [result] = await outboxOf(row.importId);
      expect(result).toMatchObject({ sent_at: null, leased_until: null, attempts: 1 });
      expect(result?.last_error).toMatch(/null value in column "outcome"/);
      expect(await sentEventsOf(row.shareId)).toEqual([]);
    }

    // Once the statement can succeed again, the retry marks both, and the queue takes neither twice.
    await b.query(
      'update result_outbox set payload = payload || \'{"outcome": "imported"}\' where import_id = $1',
      [poisoned.importId],
    );
    await eventuallySent(() => b.sender.drainOnce(), 2);
    for (const row of [poisoned, good]) {
      expect(b.sent.filter((result) => result.jobId === row.shareId)).toHaveLength(1);
      expect((await outboxOf(row.importId))[0]?.sent_at).not.toBeNull();
      expect((await sentEventsOf(row.shareId)).map((event) => event.details.queued)).toEqual([
        "already_queued",
      ]);
    }
  });

  it("leaves results to their lease when rescheduling the batch fails: nothing lost, counted and logged once", async () => {
    await drainAll();
    const rows = [await importedWithResult(), await importedWithResult()];
    const sender = b.newSender({ leaseSeconds: 1 });
    // The queue refuses both sends with a message Postgres cannot store (a NUL byte), so the
    // statement that reschedules them with their last error fails.
    const refusal = `queue refused ${randomUUID()}\u0000`;
    const release = b.failSends(
      rows.map((row) => row.shareId),
      refusal,
    );
    const { warnings, logged } = await oneFallbackOf("result_reschedule", async () => {
      expect(await sender.drainOnce()).toBe(0);
    });
    expect(warnings).toEqual([
      expect.objectContaining({
        level: "warn",
        batch: "result_reschedule",
        fallback: PARTNER_B_BATCHES.result_reschedule,
        items: 2,
        error: "DatabaseError",
        code: "22021",
        sqlstate_class: "data_exception",
      }),
    ]);
    expect(logged).not.toContain(refusal.slice(0, -1));

    // Not rescheduled, but still leased to that claim and unsent: nothing is lost.
    for (const row of rows) {
      const [result] = await outboxOf(row.importId);
      expect(result).toMatchObject({ sent_at: null, attempts: 1, last_error: null });
      expect(result?.leased_until).not.toBeNull();
      expect(b.sent.filter((sent) => sent.jobId === row.shareId)).toEqual([]);
    }

    // Once the lease lapses, the results are claimed again and go out, once each.
    release();
    await eventuallySent(() => sender.drainOnce(), 2);
    for (const row of rows) {
      expect(b.sent.filter((sent) => sent.jobId === row.shareId)).toHaveLength(1);
      const [result] = await outboxOf(row.importId);
      expect(result?.sent_at).not.toBeNull();
      expect(result?.attempts).toBe(2);
    }
  });
});
