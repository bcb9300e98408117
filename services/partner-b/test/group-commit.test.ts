import { randomUUID } from "node:crypto";
import type { ClaimsOf, DeadLetterQueue, EnvelopeOpener, Partner } from "@share-broker/channel";
import type { DiditClient, ImportedSession, ImportSharedSessionRequest } from "@share-broker/didit";
import { createLogger, systemClock } from "@share-broker/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { PARTNER_B_BATCHES } from "../src/batches.js";
import type { InboxJob } from "../src/channel/inbox-worker.js";
import { resultJobId } from "../src/channel/job-ids.js";
import type { ImportRow } from "../src/imports/import-row.js";
import { ImportStore, type Lease, type ReceivedOffer } from "../src/imports/import-store.js";
import { ShareImporter } from "../src/imports/share-importer.js";
import { ImportPolicy } from "../src/policies/import-policy.js";
import { inProcessPartnerB, type SentStatement } from "./support/in-process.js";
import { copyOf, nextLinkCode, offerOf, userRefOf } from "./support/offers.js";

// A first receipt and a success are group-committed: deliveries that reach them together share one
// statement. These tests run partner-b's importer and store in this process against a real Postgres,
// with every statement counted, and hold a batch to what one statement per import guaranteed.

let b: Awaited<ReturnType<typeof inProcessPartnerB>>;

beforeAll(async () => {
  b = await inProcessPartnerB();
});

afterAll(async () => {
  await b?.close();
});

const B_APPLICATION = "1b000000-0000-4000-8000-00000000000b";
const WORKFLOW = "1b000000-0000-4000-8000-0000000000b1";
const policy = { workflowId: WORKFLOW, trustReview: true, policyVersion: "policy-g" };
const lease: Lease = { seconds: 30, policy };

const RECEIVE_BATCH = "partner-b.imports.receive-batch";
const RECEIVE_ONE = "partner-b.imports.receive";
const IMPORTED_BATCH = "partner-b.imports.finish-imported-batch";
const IMPORTED_ONE = "partner-b.imports.finish-imported";

function namesOf(statements: SentStatement[]): (string | undefined)[] {
  return statements.map((statement) => statement.name);
}

function countOf(statements: SentStatement[], name: string): number {
  return statements.filter((statement) => statement.name === name).length;
}

/**
 * A store that writes one statement at a time: while the first item submitted (a plug) is being
 * written, everything submitted right after it waits and goes in the next statement, so a test
 * knows which items share a batch.
 */
function oneAtATimeStore(): ImportStore {
  return new ImportStore(b.db, new AuditLog(), b.recorded.fallbacks, { maxBatch: 64, maxInFlight: 1 });
}

async function fallbackCounts() {
  return {
    insert: await b.recorded.count("import_store_insert"),
    finish: await b.recorded.count("import_store_finish_imported"),
  };
}

/**
 * Runs `work`, which makes one batch of `batch` fail, and checks that the fallback was counted once
 * and logged once, with the batch's name and the error's code, and without any of `values` (what
 * the error and the batch's items carried: input values, pseudonyms, token ids).
 */
async function expectOneFallback(
  batch: keyof typeof PARTNER_B_BATCHES,
  expected: { items: number; code: string },
  values: () => string[],
  work: () => Promise<void>,
) {
  const counted = await b.recorded.count(batch);
  const warned = b.recorded.warnings(batch).length;
  await work();
  expect(await b.recorded.count(batch)).toBe((counted ?? 0) + 1);
  expect(b.recorded.warnings(batch).slice(warned)).toEqual([
    expect.objectContaining({
      level: "warn",
      msg: "batch statement failed; its items fell back",
      batch,
      fallback: PARTNER_B_BATCHES[batch],
      error: "DatabaseError",
      ...expected,
    }),
  ]);
  const logged = b.recorded.lines.join("\n");
  for (const value of values()) expect(logged).not.toContain(value);
}

async function auditOf(shareId: string) {
  return b.query<{
    action: string;
    outcome: string;
    import_id: string | null;
    user_pseudonym: string | null;
    token_id: string | null;
    details: Record<string, unknown>;
  }>("select * from audit_events where share_id = $1 order by id", [shareId]);
}

async function importsOf(shareId: string) {
  return b.query<{
    import_id: string;
    status: string;
    attempts: number;
    lease_owner: string | null;
    didit_session_id: string | null;
    vendor_data: string;
    link_id: string | null;
  }>("select * from imports where share_id = $1", [shareId]);
}

async function outboxOf(importId: string) {
  return b.query<{ seq: number; job_id: string; kind: string; payload: Record<string, unknown> }>(
    "select * from result_outbox where import_id = $1 order by seq",
    [importId],
  );
}

async function drainAll() {
  while ((await b.sender.drainOnce()) > 0);
}

/** A Didit stand-in that imports every share token once, optionally held until released. */
class FakeDidit {
  readonly calls: ImportSharedSessionRequest[] = [];
  #held: Promise<void> | undefined;
  #release = () => {};

  hold(): () => void {
    this.#held = new Promise((resolve) => (this.#release = resolve));
    return () => {
      this.#held = undefined;
      this.#release();
    };
  }

  async importSharedSession(request: ImportSharedSessionRequest): Promise<ImportedSession> {
    this.calls.push(request);
    await (this.#held ?? new Promise((resolve) => setImmediate(resolve)));
    const payload = JSON.parse(Buffer.from(request.share_token.split(".")[1] ?? "", "base64url").toString());
    return {
      session_id: randomUUID(),
      status: "Approved",
      created_at: new Date().toISOString(),
      shared_from_session: payload.session_id,
    } as ImportedSession;
  }
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The claims of an opened share-offer envelope from partner-a, with a share token addressed to B. */
function offerClaims(shareId: string): ClaimsOf<"share-offer"> {
  const now = Math.floor(Date.now() / 1000);
  const token = [
    base64url({ alg: "ES256" }),
    base64url({
      session_id: randomUUID(),
      session_kind: "user",
      from_application_id: randomUUID(),
      for_application_id: B_APPLICATION,
      iat: now,
      exp: now + 900,
    }),
    "signature",
  ].join(".");
  return {
    iss: "partner-a",
    aud: "partner-b",
    jti: shareId,
    iat: now,
    exp: now + 900,
    typ: "share-offer",
    payload: {
      share_token: token,
      session_kind: "user",
      purpose: "onboarding",
      scope: "kyc",
      consent_id: randomUUID(),
      link_code: nextLinkCode(),
      user_pseudonym: `pseudo-${shareId}`,
      token_expires_at: new Date((now + 900) * 1000).toISOString(),
    },
  };
}

/**
 * partner-b's inbox job handler in this process: envelopes are share ids whose claims the opener
 * looks up, Didit is the fake above, and the store is the counted one.
 */
function inProcessImporter() {
  const envelopes = new Map<string, ClaimsOf<"share-offer">>();
  const didit = new FakeDidit();
  let wakes = 0;
  const opener = {
    open: async (envelope: string) => {
      const claims = envelopes.get(envelope);
      return claims ? { ok: true, claims } : { ok: false, reason: "malformed" };
    },
  } as unknown as EnvelopeOpener;
  const importer = new ShareImporter(
    {
      db: b.db,
      store: b.store,
      didit: didit as unknown as DiditClient,
      opener,
      deadLetter: {} as DeadLetterQueue,
      policy: new ImportPolicy({
        version: "policy-g",
        default: { workflow_id: WORKFLOW, trust_review: true },
        rules: [],
      }),
      audit: new AuditLog(),
      clock: systemClock,
      logger: createLogger({ service: "partner-b-test", level: "silent" }),
      self: { partnerId: "partner-b", diditApplicationId: B_APPLICATION } as Partner,
      wakeResults: () => {
        wakes += 1;
      },
      revocations: { waitingEnvelope: async () => undefined },
    },
    { inboxQueue: "inbox-partner-b", leaseSeconds: 30, retryBaseMs: 200, retryMaxMs: 1000 },
  );
  return {
    didit,
    wakes: () => wakes,
    /** A new share offer; its envelope is its share id. */
    offer: () => {
      const shareId = randomUUID();
      envelopes.set(shareId, offerClaims(shareId));
      return shareId;
    },
    /** Handles one delivery of the share's envelope as the inbox worker would. */
    deliver: (shareId: string, jobId: string) =>
      importer.handle({ id: jobId, data: { envelope: shareId } } as unknown as InboxJob, undefined),
  };
}

describe("a burst of offers through the importer", () => {
  it("imports N offers with one receipt, outcome and result each, in fewer statements than offers", async () => {
    await drainAll();
    const importer = inProcessImporter();
    const N = 32;
    const shares = Array.from({ length: N }, () => importer.offer());
    const jobOf = (shareId: string) => `job-${shareId}`;
    const fallbacksBefore = await fallbackCounts();
    const burst = await b.statements.namedDuring(() =>
      Promise.all(shares.map((shareId) => importer.deliver(shareId, jobOf(shareId)))),
    );
    expect(await fallbackCounts()).toEqual(fallbacksBefore);

    // One statement per import before (a receipt, then an outcome: 2N). Now the receipts of the
    // burst share a few statements and so do its outcomes; nothing fell back to the one-item path.
    expect(new Set(namesOf(burst))).toEqual(new Set([RECEIVE_BATCH, IMPORTED_BATCH]));
    expect(burst.length).toBeLessThan(N);
    expect(countOf(burst, RECEIVE_BATCH)).toBeLessThanOrEqual(4);
    expect(countOf(burst, IMPORTED_BATCH)).toBeLessThan(N / 2);
    expect(importer.didit.calls).toHaveLength(N);
    expect(importer.wakes()).toBe(N);

    await drainAll();
    for (const shareId of shares) {
      const [row, ...others] = await importsOf(shareId);
      expect(others).toEqual([]);
      expect(row).toMatchObject({ status: "imported", attempts: 1, lease_owner: null });
      expect(importer.didit.calls.filter((call) => call.vendor_data === row?.vendor_data)).toHaveLength(1);
      const importId = row?.import_id as string;
      const outbox = await outboxOf(importId);
      expect(outbox.map((result) => [result.seq, result.kind, result.job_id])).toEqual([
        [0, "outcome", shareId],
      ]);
      expect(outbox[0]?.payload).toMatchObject({
        share_id: shareId,
        outcome: "imported",
        import_id: importId,
        session_status: "Approved",
      });
      const audit = await auditOf(shareId);
      expect(audit.map((event) => [event.action, event.outcome])).toEqual([
        ["import.received", "received"],
        ["import.imported", "Approved"],
        ["result.sent", "imported"],
      ]);
      expect(audit.every((event) => event.import_id === importId)).toBe(true);
      expect(audit.every((event) => event.user_pseudonym === `pseudo-${shareId}`)).toBe(true);
      expect(audit[0]?.details).toEqual({
        job_id: jobOf(shareId),
        vendor_data: row?.vendor_data,
        link_id: row?.link_id,
      });
      expect(row?.vendor_data).toMatch(/^ref-/);
      expect(audit[1]?.details).toEqual({
        job_id: jobOf(shareId),
        attempt: 1,
        reconciled: false,
        didit_session_id: row?.didit_session_id,
        workflow_id: WORKFLOW,
        trust_review: true,
        policy_version: "policy-g",
        shared_from_session: expect.any(String),
      });
    }
    for (const shareId of shares) expect(b.sent.filter((result) => result.jobId === shareId)).toHaveLength(1);
  });

  it("imports each share once when every offer is delivered twice in the same burst", async () => {
    await drainAll();
    const importer = inProcessImporter();
    const shares = Array.from({ length: 8 }, () => importer.offer());
    // The first deliveries stay inside Didit until every second delivery has found its share held.
    const release = importer.didit.hold();
    let settled = 0;
    const deliveries = shares.flatMap((shareId) =>
      ["a", "b"].map((copy) =>
        importer.deliver(shareId, `job-${copy}-${shareId}`).finally(() => {
          settled += 1;
        }),
      ),
    );
    while (importer.didit.calls.length < shares.length || settled < shares.length) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    release();
    await Promise.all(deliveries);
    expect(importer.didit.calls).toHaveLength(shares.length);

    await drainAll();
    for (const shareId of shares) {
      const [row, ...others] = await importsOf(shareId);
      expect(others).toEqual([]);
      expect(row).toMatchObject({ status: "imported", attempts: 1 });
      expect(await outboxOf(row?.import_id as string)).toHaveLength(1);
      const audit = await auditOf(shareId);
      expect(audit.map((event) => [event.action, event.outcome])).toEqual([
        ["import.received", "received"],
        ["import.replayed", "in_progress"],
        ["import.imported", "Approved"],
        ["result.sent", "imported"],
      ]);
      // The two deliveries: one received and imported it, the other found it held by that one.
      const receiver = audit[0]?.details.job_id;
      expect(audit[1]?.details).toEqual({ job_id: expect.any(String), held_by: receiver });
      expect(new Set([receiver, audit[1]?.details.job_id])).toEqual(
        new Set([`job-a-${shareId}`, `job-b-${shareId}`]),
      );
    }
  });
});

describe("receipts written together", () => {
  it("inserts two deliveries of one share in one batch once; the second finds it held", async () => {
    const store = oneAtATimeStore();
    const offer = offerOf();
    let receipts: Awaited<ReturnType<ImportStore["receive"]>>[] = [];
    const statements = await b.statements.namedDuring(async () => {
      receipts = await Promise.all([
        store.receive(offerOf(), "job-plug", lease),
        store.receive(offer, "job-first", lease),
        store.receive({ ...offer, tokenHash: "c".repeat(64) }, "job-second", lease),
      ]);
    });
    // The plug alone, then both deliveries in one statement, which fails for neither.
    expect(countOf(statements, RECEIVE_BATCH)).toBe(2);
    expect(countOf(statements, RECEIVE_ONE)).toBe(0);
    const [, first, second] = receipts;
    expect(first).toMatchObject({ kind: "new", row: { leaseOwner: "job-first", tokenHash: "b".repeat(64) } });
    expect(second).toMatchObject({
      kind: "open",
      row: { importId: first?.row.importId, leaseOwner: "job-first" },
    });
    expect(await store.claim(second?.row as ImportRow, offer, "job-second", lease)).toBeUndefined();
    expect(await importsOf(offer.shareId)).toHaveLength(1);
    const audit = await auditOf(offer.shareId);
    expect(audit.map((event) => [event.action, event.details.job_id])).toEqual([
      ["import.received", "job-first"],
    ]);
  });

  it("answers each offer of a batch with its own row, and a replay in it as a replay", async () => {
    const store = oneAtATimeStore();
    const finished = offerOf();
    const done = await store.receive(finished, "job-done", lease);
    await store.recordImported(done.row, copyOf(finished), {});
    const offers = [offerOf(), offerOf(), offerOf({ shareId: `odd:${randomUUID()}` })];
    const [, ...receipts] = await Promise.all([
      store.receive(offerOf(), "job-plug", lease),
      ...offers.map((offer, index) => store.receive(offer, `job-${index}`, lease)),
      store.receive(finished, "job-replay", lease),
    ]);
    offers.forEach((offer, index) => {
      expect(receipts[index]).toMatchObject({
        kind: "new",
        row: {
          shareId: offer.shareId,
          userPseudonym: offer.userPseudonym,
          consentId: offer.consentId,
          tokenId: offer.tokenId,
          tokenExpiresAt: offer.tokenExpiresAt,
          status: "importing",
          attempts: 1,
          leaseOwner: `job-${index}`,
          workflowId: WORKFLOW,
          trustReview: true,
          policyVersion: "policy-g",
        },
      });
    });
    // Each for the user its own link code was issued for.
    offers.forEach((offer, index) => {
      expect(receipts[index]?.row.vendorData).toBe(userRefOf(offer));
    });
    expect(receipts[3]).toMatchObject({
      kind: "finished",
      resent: false,
      row: { importId: done.row.importId },
    });
    for (const [index, offer] of offers.entries()) {
      const audit = await auditOf(offer.shareId);
      expect(audit.map((event) => [event.action, event.outcome, event.details])).toEqual([
        [
          "import.received",
          "received",
          {
            job_id: `job-${index}`,
            vendor_data: userRefOf(offer),
            link_id: receipts[index]?.row.linkId,
          },
        ],
      ]);
      expect(audit[0]).toMatchObject({ import_id: receipts[index]?.row.importId, token_id: offer.tokenId });
    }
  });

  it("falls back to one statement per offer when the batch statement fails, counted and logged once", async () => {
    const store = oneAtATimeStore();
    const good = [offerOf(), offerOf()];
    const bad = offerOf();
    const refused = `workflow-${randomUUID()}`;
    let outcomes: PromiseSettledResult<Awaited<ReturnType<ImportStore["receive"]>>>[] = [];
    let statements: SentStatement[] = [];
    const carried = () => [
      refused,
      ...[...good, bad].flatMap((offer) => [offer.userPseudonym, offer.tokenId]),
    ];
    await expectOneFallback("import_store_insert", { items: 3, code: "22P02" }, carried, async () => {
      statements = await b.statements.namedDuring(async () => {
        outcomes = await Promise.allSettled([
          store.receive(offerOf(), "job-plug", lease),
          store.receive(good[0] as ReceivedOffer, "job-good-0", lease),
          // A value Postgres refuses fails the whole batch statement, which then wrote nothing.
          store.receive(bad, "job-bad", { ...lease, policy: { ...policy, workflowId: refused } }),
          store.receive(good[1] as ReceivedOffer, "job-good-1", lease),
        ]);
      });
    });
    expect(countOf(statements, RECEIVE_BATCH)).toBe(2);
    expect(countOf(statements, RECEIVE_ONE)).toBe(3);
    const [, first, failed, second] = outcomes;
    expect(failed).toMatchObject({ status: "rejected" });
    // The error did carry the refused value: the warning above left it out.
    expect(String((failed as PromiseRejectedResult).reason)).toMatch(/invalid input syntax for type uuid/);
    expect(String((failed as PromiseRejectedResult).reason)).toContain(refused);
    for (const [index, outcome] of [first, second].entries()) {
      expect(outcome).toMatchObject({
        status: "fulfilled",
        value: { kind: "new", row: { shareId: good[index]?.shareId, leaseOwner: `job-good-${index}` } },
      });
      const audit = await auditOf(good[index]?.shareId as string);
      expect(audit.map((event) => [event.action, event.details.job_id])).toEqual([
        ["import.received", `job-good-${index}`],
      ]);
      expect(await importsOf(good[index]?.shareId as string)).toHaveLength(1);
    }
    expect(await importsOf(bad.shareId)).toEqual([]);
    expect(await auditOf(bad.shareId)).toEqual([]);
  });
});

describe("successes written together", () => {
  /** `count` first receipts, each claimed by its own job. */
  async function receivedImports(store: ImportStore, offers: ReceivedOffer[]) {
    const rows: ImportRow[] = [];
    for (const offer of offers) rows.push((await store.receive(offer, `job-${offer.shareId}`, lease)).row);
    return rows;
  }

  it("numbers each import's result on its own and answers a second success of one import undefined", async () => {
    const store = oneAtATimeStore();
    const offers = [offerOf(), offerOf({ shareId: `odd:share:${randomUUID()}` }), offerOf()];
    const [plug, first, odd, other] = await receivedImports(store, [offerOf(), ...offers]);
    if (!plug || !first || !odd || !other) throw new Error("four imports expected");
    const firstCopy = copyOf(offers[0] as ReceivedOffer);
    let answers: (ImportRow | undefined)[] = [];
    const statements = await b.statements.namedDuring(async () => {
      answers = await Promise.all([
        store.recordImported(plug, copyOf(offerOf()), {}),
        store.recordImported(first, firstCopy, { job_id: "job-1" }),
        store.recordImported(odd, copyOf(offers[1] as ReceivedOffer, "In Review"), { job_id: "job-odd" }),
        // The same import again in the same batch (a lapsed lease's second delivery, say).
        store.recordImported(first, copyOf(offers[0] as ReceivedOffer), { job_id: "job-1-again" }),
        store.recordImported(other, copyOf(offers[2] as ReceivedOffer), {}),
      ]);
    });
    expect(namesOf(statements)).toEqual([IMPORTED_BATCH, IMPORTED_BATCH]);
    const [, firstDone, oddDone, again, otherDone] = answers;
    expect(firstDone).toMatchObject({ status: "imported", diditSessionId: firstCopy.sessionId });
    expect(oddDone).toMatchObject({ status: "imported", diditStatus: "In Review" });
    expect(again).toBeUndefined();
    expect(otherDone).toMatchObject({ status: "imported" });

    for (const [index, row] of [first, odd, other].entries()) {
      const shareId = (offers[index] as ReceivedOffer).shareId;
      const outbox = await outboxOf(row.importId);
      expect(outbox.map((result) => [result.seq, result.kind, result.job_id])).toEqual([
        [0, "outcome", resultJobId(shareId, 0)],
      ]);
      const events = (await auditOf(shareId)).filter((event) => event.action === "import.imported");
      expect(events).toHaveLength(1);
    }
    expect(resultJobId(odd.shareId, 0)).toMatch(/^h-/);
    const [firstEvent] = (await auditOf(first.shareId)).filter((event) => event.action === "import.imported");
    expect(firstEvent).toMatchObject({
      outcome: "Approved",
      details: { job_id: "job-1", didit_session_id: firstCopy.sessionId, policy_version: "policy-g" },
    });
    // A later result of an import numbers after the batch's, as after a one-item outcome.
    await drainAll();
    const replay = await store.receive(offers[1] as ReceivedOffer, "job-replay", lease);
    expect(replay).toMatchObject({ kind: "finished", resent: true });
    expect((await outboxOf(odd.importId)).map((result) => [result.seq, result.kind, result.job_id])).toEqual([
      [0, "outcome", resultJobId(odd.shareId, 0)],
      [1, "resend", resultJobId(odd.shareId, 1)],
    ]);
  });

  it("falls back to one statement per success when the batch statement fails, counted and logged once", async () => {
    const store = oneAtATimeStore();
    const offers = [offerOf(), offerOf(), offerOf()];
    const [plug, good0, bad, good1] = await receivedImports(store, [offerOf(), ...offers]);
    if (!plug || !good0 || !bad || !good1) throw new Error("four imports expected");
    const refused = `session-${randomUUID()}`;
    let outcomes: PromiseSettledResult<ImportRow | undefined>[] = [];
    let statements: SentStatement[] = [];
    const carried = () => [refused, ...offers.flatMap((offer) => [offer.userPseudonym, offer.tokenId])];
    await expectOneFallback(
      "import_store_finish_imported",
      { items: 3, code: "22P02" },
      carried,
      async () => {
        statements = await b.statements.namedDuring(async () => {
          outcomes = await Promise.allSettled([
            store.recordImported(plug, copyOf(offerOf()), {}),
            store.recordImported(good0, copyOf(offers[0] as ReceivedOffer), { n: 0 }),
            store.recordImported(bad, { ...copyOf(offers[1] as ReceivedOffer), sessionId: refused }, {}),
            store.recordImported(good1, copyOf(offers[2] as ReceivedOffer), { n: 1 }),
          ]);
        });
      },
    );
    expect(countOf(statements, IMPORTED_BATCH)).toBe(2);
    expect(countOf(statements, IMPORTED_ONE)).toBe(3);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toContain(refused);
    for (const [index, row] of [good0, good1].entries()) {
      const outbox = await outboxOf(row.importId);
      expect(outbox.map((result) => [result.seq, result.job_id])).toEqual([[0, row.shareId]]);
      const events = (await auditOf(row.shareId)).filter((event) => event.action === "import.imported");
      expect(events.map((event) => event.details.n)).toEqual([index]);
    }
    // The bad one is left as it was: still open, leased to its job, with no event and no result.
    expect(await importsOf(bad.shareId)).toEqual([
      expect.objectContaining({ status: "importing", lease_owner: `job-${bad.shareId}` }),
    ]);
    expect(await outboxOf(bad.importId)).toEqual([]);
    expect((await auditOf(bad.shareId)).map((event) => event.action)).toEqual(["import.received"]);
  });
});
