import { randomUUID } from "node:crypto";
import { SessionStatus } from "@share-broker/didit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { resultJobId } from "../src/channel/job-ids.js";
import { applySessionEvent } from "../src/imports/apply-session-event.js";
import type { ImportRow } from "../src/imports/import-row.js";
import type { ImportedCopy, Lease, ReceivedOffer } from "../src/imports/import-store.js";
import { resultPayloadOf } from "../src/results/result-outbox.js";
import { inProcessPartnerB } from "./support/in-process.js";

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

function offerOf(overrides: Partial<ReceivedOffer> = {}): ReceivedOffer {
  return {
    sourcePartner: "partner-a",
    shareId: randomUUID(),
    userPseudonym: `pseudo-${randomUUID()}`,
    purpose: "onboarding",
    scope: "kyc",
    consentId: randomUUID(),
    recipientRef: null,
    sessionKind: "kyc",
    tokenHash: "a".repeat(64),
    tokenId: `tok-${randomUUID().slice(0, 8)}`,
    tokenExpiresAt: new Date(Math.floor(Date.now() / 1000) * 1000 + 900_000),
    claimedSourceSession: randomUUID(),
    ...overrides,
  };
}

function copyOf(offer: ReceivedOffer, status = "Approved"): ImportedCopy {
  return {
    sessionId: randomUUID(),
    status,
    statusAt: new Date(Math.floor(Date.now() / 1000) * 1000),
    sharedFromSession: offer.claimedSourceSession,
  };
}

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

function outboxOf(importId: string) {
  return b.query<{
    seq: number;
    job_id: string;
    source_partner: string;
    kind: string;
    payload: Record<string, unknown>;
    sent_at: Date | null;
  }>("select * from result_outbox where import_id = $1 order by seq", [importId]);
}

async function importRow(importId: string) {
  const [row] = await b.query<Record<string, unknown>>("select * from imports where import_id = $1", [
    importId,
  ]);
  return row;
}

describe("the common path of a share, one statement per step", () => {
  it("receives, imports and sends a result in one statement each, with the same rows and events", async () => {
    const offer = offerOf({ recipientRef: `ref-${randomUUID()}` });
    const jobId = `job-${randomUUID()}`;
    let row: ImportRow | undefined;
    const receiving = await b.statements.during(async () => {
      row = await received(offer, jobId);
    });
    // Inserted already claimed by this delivery, as claim() would have left it.
    expect(row).toMatchObject({
      shareId: offer.shareId,
      status: "importing",
      leaseOwner: jobId,
      attempts: 1,
      vendorData: offer.recipientRef,
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
    const finishing = await b.statements.during(async () => {
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

    const sending = await b.statements.during(async () => {
      expect(await b.sender.drainOnce()).toBe(1);
    });

    // Before: 4 (BEGIN, insert, audit, COMMIT) + 1 claim; 6 (BEGIN, update, audit, max(seq), insert,
    // COMMIT); 1 outbox claim + 5 (BEGIN, update, select import, audit, COMMIT). Now 1, 1, 1 + 1.
    expect(receiving).toHaveLength(1);
    expect(finishing).toHaveLength(1);
    expect(sending).toHaveLength(2);

    const [outbox, ...more] = await outboxOf((finished as ImportRow).importId);
    expect(more).toEqual([]);
    expect(outbox).toMatchObject({
      seq: 0,
      job_id: offer.shareId,
      kind: "outcome",
      source_partner: "partner-a",
    });
    expect(outbox?.sent_at).toBeInstanceOf(Date);
    const payload = resultPayloadOf(finished as ImportRow, finished?.decidedAt as Date);
    expect(outbox?.payload).toEqual(payload);
    expect(b.sent.filter((result) => result.jobId === offer.shareId)).toEqual([
      { partnerId: "partner-a", jobId: offer.shareId, payload },
    ]);

    const audit = await auditOf(offer.shareId);
    expect(audit.map((event) => [event.action, event.outcome, event.details])).toEqual([
      ["import.received", "received", { job_id: jobId, vendor_data: offer.recipientRef }],
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
    expect(outbox?.payload).toEqual(resultPayloadOf(rejected as ImportRow, rejected?.decidedAt as Date));
    expect(Object.keys(outbox?.payload ?? {}).sort()).toEqual([
      "at",
      "import_id",
      "outcome",
      "reason",
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
    expect(outbox?.payload).toEqual(resultPayloadOf(finished as ImportRow, finished?.decidedAt as Date));
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
