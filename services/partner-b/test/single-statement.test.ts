import { randomUUID } from "node:crypto";
import { SessionStatus } from "@share-broker/didit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { resultJobId } from "../src/channel/job-ids.js";
import { applySessionEvent } from "../src/imports/apply-session-event.js";
import type { ImportRow } from "../src/imports/import-row.js";
import type { Lease, ReceivedOffer } from "../src/imports/import-store.js";
import { resultPayloadOf } from "../src/results/result-outbox.js";
import { inProcessPartnerB } from "./support/in-process.js";
import { copyOf, offerOf, userRefOf } from "./support/offers.js";

// The share's common path in partner-b is one statement per step (receipt with its claim, outcome,
// sent mark), data-modifying CTEs. These tests hold those statements to what the transactions they
// replaced guaranteed, against a real Postgres, and count the round trips.

let b: Awaited<ReturnType<typeof inProcessPartnerB>>;

beforeAll(async () => {
  b = await inProcessPartnerB();
});

afterAll(async () => {
  await b?.close();
});

const policy = { workflowId: randomUUID(), trustReview: true, policyVersion: "policy-9" };
const lease: Lease = { seconds: 30, policy };

/** A first receipt, claimed by `jobId`. */
async function received(offer: ReceivedOffer, jobId = `job-${randomUUID()}`): Promise<ImportRow> {
  const receipt = await b.store.receive(offer, jobId, lease);
  expect(receipt.kind).toBe("new");
  return receipt.row;
}

function auditOf(shareId: string) {
  return b.query<{
    action: string;
    outcome: string;
    user_pseudonym: string | null;
    source_partner: string | null;
    purpose: string | null;
    scope: string | null;
    share_id: string | null;
    import_id: string | null;
    token_id: string | null;
    token_expires_at: Date | null;
    request_id: string | null;
    details: Record<string, unknown>;
  }>("select * from audit_events where share_id = $1 order by id", [shareId]);
}

/** A Didit status.updated webhook for the session, as the webhook route applies it. */
async function statusUpdate(sessionId: string, status: SessionStatus, at: Date) {
  return applySessionEvent(
    b.db,
    new AuditLog(),
    {
      event_id: randomUUID(),
      webhook_type: "status.updated",
      timestamp: Math.floor(at.getTime() / 1000),
      created_at: Math.floor(at.getTime() / 1000),
      session_id: sessionId,
      status,
    },
    "req-1",
  );
}

/** Sends everything due, so a test's batch holds only its own results. */
async function drainAll() {
  while ((await b.sender.drainOnce()) > 0);
}

function outboxOf(importId: string) {
  return b.query<{
    seq: number;
    job_id: string;
    source_partner: string;
    kind: string;
    payload: Record<string, unknown>;
    sent_at: Date | null;
    leased_until: Date | null;
    attempts: number;
    last_error: string | null;
    due_later: boolean;
  }>("select *, due_at > now() as due_later from result_outbox where import_id = $1 order by seq", [
    importId,
  ]);
}

async function importRow(importId: string) {
  const [row] = await b.query<Record<string, unknown>>("select * from imports where import_id = $1", [
    importId,
  ]);
  return row;
}

describe("the common path of a share, one statement per step", () => {
  it("receives, imports and sends a result in one statement each, with the same rows and events", async () => {
    const offer = offerOf();
    const jobId = `job-${randomUUID()}`;
    let row: ImportRow | undefined;
    const receiving = await b.statements.namedDuring(async () => {
      row = await received(offer, jobId);
    });
    // Inserted already claimed by this delivery, as claim() would have left it.
    expect(row).toMatchObject({
      shareId: offer.shareId,
      status: "importing",
      leaseOwner: jobId,
      attempts: 1,
      vendorData: userRefOf(offer),
      userPseudonym: offer.userPseudonym,
      tokenExpiresAt: offer.tokenExpiresAt,
      workflowId: policy.workflowId,
      trustReview: true,
      policyVersion: "policy-9",
      diditSessionId: null,
    });
    expect(typeof row?.seq).toBe("bigint");
    expect(row?.leasedUntil?.getTime()).toBeGreaterThan(Date.now() + 20_000);
    // Another delivery of the same offer finds it held.
    const again = await b.store.receive(offer, "job-other", lease);
    expect(again.kind).toBe("open");
    expect(await b.store.claim(again.row, offer, "job-other", lease)).toBeUndefined();

    const copy = copyOf(offer);
    let finished: ImportRow | undefined;
    const finishing = await b.statements.namedDuring(async () => {
      finished = await b.store.recordImported(row as ImportRow, copy, { job_id: jobId, attempt: 1 });
    });
    expect(finished).toMatchObject({
      status: "imported",
      diditSessionId: copy.sessionId,
      diditStatus: "Approved",
      diditStatusAt: copy.statusAt,
      leaseOwner: null,
      leasedUntil: null,
      reason: null,
    });
    expect(finished?.decidedAt).toBeInstanceOf(Date);

    const sending = await b.statements.namedDuring(async () => {
      expect(await b.sender.drainOnce()).toBe(1);
    });

    // Before: 4 (BEGIN, insert, audit, COMMIT) + 1 claim; 6 (BEGIN, update, audit, max(seq), insert,
    // COMMIT); 1 outbox claim + 5 (BEGIN, update, select import, audit, COMMIT). Now 1, 1, 1 + 1,
    // where the sender's claim and mark are one statement each for a whole batch of results, and
    // all four are named prepared statements (parsed and planned once per connection). A receipt and
    // a success alone are a group-committed batch of one (group-commit.test.ts has them together).
    expect(receiving.map((statement) => statement.name)).toEqual(["partner-b.imports.receive-batch"]);
    expect(finishing.map((statement) => statement.name)).toEqual(["partner-b.imports.finish-imported-batch"]);
    expect(sending.map((statement) => statement.name)).toEqual([
      "partner-b.results.claim",
      "partner-b.results.mark-sent",
    ]);

    const [outbox, ...more] = await outboxOf((finished as ImportRow).importId);
    expect(more).toEqual([]);
    expect(outbox).toMatchObject({
      seq: 0,
      job_id: offer.shareId,
      kind: "outcome",
      source_partner: "partner-a",
    });
    expect(outbox?.sent_at).toBeInstanceOf(Date);
    const payload = resultPayloadOf(finished as ImportRow, finished?.decidedAt as Date, 1);
    expect(outbox?.payload).toEqual(payload);
    expect(b.sent.filter((result) => result.jobId === offer.shareId)).toEqual([
      { partnerId: "partner-a", jobId: offer.shareId, payload },
    ]);

    const audit = await auditOf(offer.shareId);
    expect(audit.map((event) => [event.action, event.outcome, event.details])).toEqual([
      [
        "import.received",
        "received",
        { job_id: jobId, vendor_data: userRefOf(offer), link_id: row?.linkId ?? "missing" },
      ],
      ["import.imported", "Approved", expect.anything()],
      [
        "result.sent",
        "imported",
        {
          job_id: offer.shareId,
          kind: "outcome",
          seq: 0,
          session_status: "Approved",
          reason: null,
          queued: "added",
        },
      ],
    ]);
    expect(audit[1]?.details).toEqual({
      job_id: jobId,
      attempt: 1,
      didit_session_id: copy.sessionId,
      workflow_id: policy.workflowId,
      trust_review: true,
      policy_version: "policy-9",
      shared_from_session: offer.claimedSourceSession,
    });
  });

  it("writes every audit event of an import with its pseudonym, source, purpose, scope and token", async () => {
    const offer = offerOf();
    const row = await received(offer);
    await b.store.recordImported(row, copyOf(offer), {});
    await b.sender.drainOnce();
    const audit = await auditOf(offer.shareId);
    expect(audit.map((event) => event.action)).toEqual(["import.received", "import.imported", "result.sent"]);
    for (const event of audit) {
      expect(event).toMatchObject({
        user_pseudonym: offer.userPseudonym,
        source_partner: "partner-a",
        purpose: "onboarding",
        scope: "kyc",
        share_id: offer.shareId,
        import_id: row.importId,
        token_id: offer.tokenId,
        token_expires_at: offer.tokenExpiresAt,
        request_id: null,
      });
    }
  });
});

describe("an outcome is recorded once", () => {
  it("refuses to finish a finished import: no second event, no second result", async () => {
    const offer = offerOf();
    const row = await received(offer);
    expect(await b.store.recordNotImported(row, "rejected", "token_expired", {})).toBeDefined();
    expect(await b.store.recordImported(row, copyOf(offer), {})).toBeUndefined();
    expect(await b.store.recordNotImported(row, "failed", "other", { error: "x" })).toBeUndefined();

    expect(await importRow(row.importId)).toMatchObject({
      status: "rejected",
      reason: "token_expired",
      didit_session_id: null,
    });
    expect(await outboxOf(row.importId)).toHaveLength(1);
    const actions = (await auditOf(offer.shareId)).map((event) => event.action);
    expect(actions).toEqual(["import.received", "import.rejected"]);
  });

  it("lets exactly one of two racing outcomes through", async () => {
    const offer = offerOf();
    const row = await received(offer);
    const outcomes = await Promise.all([
      b.store.recordImported(row, copyOf(offer), {}),
      b.store.recordNotImported(row, "failed", "not_completed_before_token_expiry", {}),
      b.store.recordImported(row, copyOf(offer), {}),
    ]);
    expect(outcomes.filter((outcome) => outcome !== undefined)).toHaveLength(1);
    expect(await outboxOf(row.importId)).toHaveLength(1);
    const outcomeEvents = (await auditOf(offer.shareId)).filter(
      (event) => event.action !== "import.received",
    );
    expect(outcomeEvents).toHaveLength(1);
  });

  it("keeps a rejection's payload and last error as before: absent fields left out", async () => {
    const offer = offerOf();
    const row = await received(offer);
    const rejected = await b.store.recordNotImported(row, "rejected", "forbidden", {
      didit_status: 403,
      error: "e".repeat(600),
      absent: undefined,
    });
    expect(rejected?.lastError).toBe("e".repeat(500));
    const [outbox] = await outboxOf(row.importId);
    expect(outbox?.payload).toEqual(resultPayloadOf(rejected as ImportRow, rejected?.decidedAt as Date, 1));
    expect(Object.keys(outbox?.payload ?? {}).sort()).toEqual([
      "at",
      "import_id",
      "outcome",
      "reason",
      "sequence",
      "share_id",
    ]);
    const [, event] = await auditOf(offer.shareId);
    expect(event).toMatchObject({
      action: "import.rejected",
      outcome: "forbidden",
      details: { didit_status: 403, error: "e".repeat(600) },
    });
  });

  it("leaves out empty strings from the payload as resultPayloadOf does", async () => {
    const offer = offerOf();
    const row = await received(offer);
    const finished = await b.store.recordImported(row, { ...copyOf(offer), sharedFromSession: "" }, {});
    const [outbox] = await outboxOf(row.importId);
    expect(outbox?.payload).toEqual(resultPayloadOf(finished as ImportRow, finished?.decidedAt as Date, 1));
    expect(outbox?.payload).not.toHaveProperty("shared_from_session");
  });

  it("numbers results of an odd share id under the job ids resultJobId gives", async () => {
    const offer = offerOf({ shareId: `odd:share:${Date.now()}` });
    const row = await received(offer);
    await b.store.recordImported(row, copyOf(offer), {});
    await b.sender.drainOnce();
    expect((await b.store.receive(offer, "job-replay", lease)).kind).toBe("finished");
    expect((await outboxOf(row.importId)).map((result) => result.job_id)).toEqual([
      resultJobId(offer.shareId, 0),
      resultJobId(offer.shareId, 1),
    ]);
    expect(resultJobId(offer.shareId, 0)).toMatch(/^h-/);
  });
});

describe("results after the outcome", () => {
  it("numbers the outcome, a status update and a re-send 0, 1, 2 and sends them in order", async () => {
    const offer = offerOf();
    const row = await received(offer);
    const copy = copyOf(offer, SessionStatus.InReview);
    await b.store.recordImported(row, copy, {});
    const later = new Date(copy.statusAt.getTime() + 5_000);
    expect(await statusUpdate(copy.sessionId, SessionStatus.Approved, later)).toEqual({
      outcome: "applied",
      resultQueued: true,
    });
    // Nothing sent yet: the replay finds a result pending and does not queue a third.
    const pending = await b.store.receive(offer, "job-replay-1", lease);
    expect(pending).toMatchObject({ kind: "finished", resent: false });
    while ((await b.sender.drainOnce()) > 0);
    const replay = await b.store.receive(offer, "job-replay-2", lease);
    expect(replay).toMatchObject({ kind: "finished", resent: true, row: { importId: row.importId } });
    while ((await b.sender.drainOnce()) > 0);

    const outbox = await outboxOf(row.importId);
    expect(outbox.map((result) => [result.seq, result.kind, result.payload.session_status])).toEqual([
      [0, "outcome", "In Review"],
      [1, "status_update", "Approved"],
      [2, "resend", "Approved"],
    ]);
    expect(outbox.every((result) => result.sent_at !== null)).toBe(true);
    const sent = b.sent.filter((result) => result.payload.share_id === offer.shareId);
    expect(sent.map((result) => result.jobId)).toEqual([
      offer.shareId,
      `${offer.shareId}-1`,
      `${offer.shareId}-2`,
    ]);
    // The sequence partner-a orders them by: 1, 2, 3, as written to the outbox and as sealed.
    expect(outbox.map((result) => result.payload.sequence)).toEqual([1, 2, 3]);
    expect(sent.map((result) => [result.payload.sequence, result.payload.session_status])).toEqual([
      [1, "In Review"],
      [2, "Approved"],
      [3, "Approved"],
    ]);
    const audit = await auditOf(offer.shareId);
    expect(audit.map((event) => `${event.action}:${event.outcome}`)).toEqual([
      "import.received:received",
      "import.imported:In Review",
      "import.session_status_changed:Approved",
      "import.replayed:result_pending",
      "result.sent:imported",
      "result.sent:imported",
      "import.replayed:result_resent",
      "result.sent:imported",
    ]);
    expect(audit.every((event) => event.user_pseudonym === offer.userPseudonym)).toBe(true);
  });

  it("numbers results written concurrently for one import 1, 2, 3 … without a gap or a repeat", async () => {
    const offer = offerOf();
    const row = await received(offer);
    const copy = copyOf(offer, SessionStatus.InReview);
    await b.store.recordImported(row, copy, {});
    await drainAll();
    // Status changes and replayed offers at once: each takes the import's row lock before it numbers
    // its result, so none reads a number another is about to take.
    const statuses = [
      SessionStatus.Approved,
      SessionStatus.Declined,
      SessionStatus.InReview,
      SessionStatus.Approved,
    ];
    const settled = await Promise.allSettled([
      ...statuses.map((status, index) =>
        statusUpdate(copy.sessionId, status, new Date(copy.statusAt.getTime() + (index + 1) * 1_000)),
      ),
      ...["job-c1", "job-c2"].map((jobId) => b.store.receive(offer, jobId, lease)),
    ]);
    expect(settled.filter((outcome) => outcome.status === "rejected")).toEqual([]);
    await drainAll();
    const outbox = await outboxOf(row.importId);
    // The outcome, then at least the first status change to win the lock (those older than the
    // status applied before them are superseded and report nothing).
    expect(outbox.length).toBeGreaterThanOrEqual(2);
    expect(outbox.map((result) => result.payload.sequence)).toEqual(outbox.map((_, index) => index + 1));
    expect(outbox.map((result) => result.seq)).toEqual(outbox.map((_, index) => index));
    const sent = b.sent.filter((result) => result.payload.share_id === offer.shareId);
    expect(sent.map((result) => result.payload.sequence)).toEqual(outbox.map((_, index) => index + 1));
  });

  it("sends a result queued before results carried a sequence with the one its seq gives", async () => {
    const offer = offerOf();
    const row = await received(offer);
    await b.store.recordImported(row, copyOf(offer, SessionStatus.InReview), {});
    await drainAll();
    // A status update written by the previous release: its payload has no sequence.
    const legacy = { ...resultPayloadOf(row, new Date(), 2), session_status: "Approved" } as Record<
      string,
      unknown
    >;
    delete legacy.sequence;
    await b.query(
      `insert into result_outbox (import_id, seq, job_id, source_partner, kind, payload)
       values ($1, 1, $2, 'partner-a', 'status_update', $3::jsonb)`,
      [row.importId, resultJobId(offer.shareId, 1), JSON.stringify(legacy)],
    );
    await drainAll();
    const sent = b.sent.filter((result) => result.payload.share_id === offer.shareId);
    expect(sent.map((result) => [result.payload.sequence, result.payload.session_status])).toEqual([
      [1, "In Review"],
      [2, "Approved"],
    ]);
  });

  it("re-sends a replayed offer's result once, under its first receipt", async () => {
    const offer = offerOf();
    const row = await received(offer);
    await b.store.recordImported(row, copyOf(offer), {});
    await b.sender.drainOnce();
    const replays = await Promise.all(
      ["job-r1", "job-r2", "job-r3"].map((jobId) => b.store.receive(offer, jobId, lease)),
    );
    for (const replay of replays)
      expect(replay).toMatchObject({ kind: "finished", row: { importId: row.importId } });
    expect(replays.filter((replay) => replay.kind === "finished" && replay.resent)).toHaveLength(1);
    while ((await b.sender.drainOnce()) > 0);
    expect((await outboxOf(row.importId)).map((result) => result.kind)).toEqual(["outcome", "resend"]);
    expect(await b.query("select 1 from imports where share_id = $1", [offer.shareId])).toHaveLength(1);
    const resends = b.sent.filter((result) => result.payload.share_id === offer.shareId);
    expect(resends.map((result) => result.jobId)).toEqual([offer.shareId, `${offer.shareId}-1`]);
  });

  it("audits a result only once when a second sender sends it too", async () => {
    const offer = offerOf();
    const row = await received(offer);
    await b.store.recordImported(row, copyOf(offer), {});
    const release = b.holdSends();
    const first = b.sender.drainOnce();
    await b.waitForHeldSends(1);
    // The first sender's lease lapses while it waits on the queue: a second sender takes the row too.
    await b.query(
      "update result_outbox set leased_until = now() - interval '1 second' where import_id = $1",
      [row.importId],
    );
    const second = b.sender.drainOnce();
    await b.waitForHeldSends(2);
    release();
    expect((await first) + (await second)).toBe(2);
    const events = (await auditOf(offer.shareId)).filter((event) => event.action === "result.sent");
    expect(events).toHaveLength(1);
  });
});

describe("the result sender marks a batch sent in one statement", () => {
  /** Imports `count` shares, alternately imported and rejected, each with its outcome queued. */
  async function finishedImports(count: number) {
    const finished: { offer: ReceivedOffer; row: ImportRow }[] = [];
    for (let index = 0; index < count; index += 1) {
      const offer = offerOf();
      const row = await received(offer);
      const done =
        index % 2 === 0
          ? await b.store.recordImported(row, copyOf(offer), {})
          : await b.store.recordNotImported(row, "rejected", "forbidden", {});
      finished.push({ offer, row: done as ImportRow });
    }
    return finished;
  }

  async function sentEventsOf(shareId: string) {
    return (await auditOf(shareId)).filter((event) => event.action === "result.sent");
  }

  it("marks a batch of six results sent, each with its own event, in one statement", async () => {
    await drainAll();
    const batch = await finishedImports(6);
    let count = 0;
    const sending = await b.statements.namedDuring(async () => {
      count = await b.sender.drainOnce();
    });
    expect(count).toBe(6);
    expect(sending.map((statement) => statement.name)).toEqual([
      "partner-b.results.claim",
      "partner-b.results.mark-sent",
    ]);
    for (const { offer, row } of batch) {
      const [outbox, ...more] = await outboxOf(row.importId);
      expect(more).toEqual([]);
      expect(outbox?.sent_at).toBeInstanceOf(Date);
      expect(outbox).toMatchObject({ leased_until: null, last_error: null, attempts: 1 });
      const events = await sentEventsOf(offer.shareId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        outcome: row.status,
        user_pseudonym: offer.userPseudonym,
        source_partner: "partner-a",
        purpose: "onboarding",
        scope: "kyc",
        share_id: offer.shareId,
        import_id: row.importId,
        token_id: offer.tokenId,
        token_expires_at: offer.tokenExpiresAt,
        details: {
          job_id: offer.shareId,
          kind: "outcome",
          seq: 0,
          session_status: row.status === "imported" ? "Approved" : null,
          reason: row.status === "imported" ? null : "forbidden",
          queued: "added",
        },
      });
    }
    expect(batch.map(({ row }) => row.status)).toEqual([
      "imported",
      "rejected",
      "imported",
      "rejected",
      "imported",
      "rejected",
    ]);
  });

  it("leaves a result whose add failed in the middle of a batch unsent and rescheduled, and marks the others", async () => {
    await drainAll();
    const [before, middle, after] = await finishedImports(3);
    if (!before || !middle || !after) throw new Error("three imports expected");
    const restore = b.failSends([middle.offer.shareId]);
    let count = 0;
    const sending = await b.statements.namedDuring(async () => {
      count = await b.sender.drainOnce();
    });
    expect(count).toBe(2);
    // The claim, then the mark of the two and the reschedule of the one, side by side.
    expect(sending.map((statement) => statement.name).sort()).toEqual([
      "partner-b.results.claim",
      "partner-b.results.mark-sent",
      "partner-b.results.reschedule",
    ]);
    for (const { offer, row } of [before, after]) {
      expect((await outboxOf(row.importId))[0]?.sent_at).toBeInstanceOf(Date);
      expect(await sentEventsOf(offer.shareId)).toHaveLength(1);
    }
    const [failed] = await outboxOf(middle.row.importId);
    expect(failed).toMatchObject({
      sent_at: null,
      leased_until: null,
      attempts: 1,
      due_later: true,
      last_error: `results queue unavailable for ${middle.offer.shareId}`,
    });
    expect(await sentEventsOf(middle.offer.shareId)).toEqual([]);
    expect(b.sent.some((result) => result.jobId === middle.offer.shareId)).toBe(false);
    // Not due before its backoff has passed.
    expect(await b.sender.drainOnce()).toBe(0);

    restore();
    await b.query("update result_outbox set due_at = now() where import_id = $1", [middle.row.importId]);
    expect(await b.sender.drainOnce()).toBe(1);
    const [resent] = await outboxOf(middle.row.importId);
    expect(resent?.sent_at).toBeInstanceOf(Date);
    expect(resent).toMatchObject({ attempts: 2, last_error: null, leased_until: null });
    const events = await sentEventsOf(middle.offer.shareId);
    expect(events.map((event) => event.details)).toEqual([
      expect.objectContaining({ job_id: middle.offer.shareId, queued: "added" }),
    ]);
  });

  it("writes one event per result when two senders mark the same batch", async () => {
    await drainAll();
    const batch = await finishedImports(4);
    const release = b.holdSends();
    const first = b.sender.drainOnce();
    await b.waitForHeldSends(4);
    // The first sender's leases lapse while it waits on the queue: a second sender takes the batch too.
    await b.query(
      "update result_outbox set leased_until = now() - interval '1 second' where import_id = any($1)",
      [batch.map(({ row }) => row.importId)],
    );
    const second = b.sender.drainOnce();
    await b.waitForHeldSends(8);
    release();
    // Both mark all four (neither fails, e.g. on a deadlock); only the first marking writes events.
    expect([await first, await second]).toEqual([4, 4]);
    for (const { offer, row } of batch) {
      expect((await outboxOf(row.importId))[0]?.sent_at).toBeInstanceOf(Date);
      expect(await sentEventsOf(offer.shareId)).toHaveLength(1);
      expect(b.sent.filter((result) => result.jobId === offer.shareId)).toHaveLength(1);
    }
  });

  it("sends one result per import per batch, so an import's results keep their order", async () => {
    await drainAll();
    const offer = offerOf();
    const row = await received(offer);
    const copy = copyOf(offer, SessionStatus.InReview);
    await b.store.recordImported(row, copy, {});
    await statusUpdate(copy.sessionId, SessionStatus.Approved, new Date(copy.statusAt.getTime() + 5_000));
    const [other] = await finishedImports(1);
    // The outcome and the other import's result; the status update waits for the outcome's mark.
    expect(await b.sender.drainOnce()).toBe(2);
    expect((await outboxOf(row.importId)).map((result) => result.sent_at !== null)).toEqual([true, false]);
    expect(await b.sender.drainOnce()).toBe(1);
    expect(
      b.sent.filter((result) => result.payload.share_id === offer.shareId).map((result) => result.jobId),
    ).toEqual([offer.shareId, `${offer.shareId}-1`]);
    expect(await sentEventsOf(other?.offer.shareId as string)).toHaveLength(1);
    const events = await sentEventsOf(offer.shareId);
    expect(events.map((event) => event.details.seq)).toEqual([0, 1]);
  });
});

describe("prepared statements", () => {
  it("sends each prepared statement name with one text only, whatever the values", async () => {
    // Every shape of the named statements: an import imported, rejected with and without an error,
    // and a batch with a failed add (reschedule) beside sent ones (mark). The one-item receipt and
    // success run when a batch statement fails: here batches holding a value Postgres refuses, which
    // then fail alone too (group-commit.test.ts has good items falling back beside a bad one).
    await drainAll();
    const imported = offerOf();
    await b.store.recordImported(await received(imported), copyOf(imported), { any: "detail" });
    const badPolicy = { ...policy, workflowId: "not-a-uuid" };
    await expect(b.store.receive(offerOf(), "job-bad", { ...lease, policy: badPolicy })).rejects.toThrow(
      /invalid input syntax for type uuid/,
    );
    const unfinished = offerOf();
    await expect(
      b.store.recordImported(await received(unfinished), { ...copyOf(unfinished), sessionId: "nope" }, {}),
    ).rejects.toThrow(/invalid input syntax for type uuid/);
    const withError = offerOf();
    await b.store.recordNotImported(await received(withError), "failed", "other", { error: "boom" });
    const withoutError = offerOf();
    await b.store.recordNotImported(await received(withoutError), "rejected", "forbidden", { code: 1 });
    const restore = b.failSends([withError.shareId]);
    expect(await b.sender.drainOnce()).toBe(2);
    restore();

    const byName = b.statements.textsByName();
    expect([...byName.keys()].sort()).toEqual(
      expect.arrayContaining([
        "partner-b.imports.finish-imported",
        "partner-b.imports.finish-imported-batch",
        "partner-b.imports.finish-not-imported",
        "partner-b.imports.receive",
        "partner-b.imports.receive-batch",
        "partner-b.results.claim",
        "partner-b.results.mark-sent",
        "partner-b.results.reschedule",
      ]),
    );
    for (const [name, texts] of byName) expect({ name, texts: texts.size }).toEqual({ name, texts: 1 });
    expect(
      (
        await b.query<{ last_error: string | null }>("select last_error from imports where share_id = $1", [
          withError.shareId,
        ])
      )[0]?.last_error,
    ).toBe("boom");
  });
});
