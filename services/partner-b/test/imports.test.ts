import { createHash, randomUUID } from "node:crypto";
import { type DiditClient, signWebhook, webhookEventKey } from "@share-broker/didit";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerBDatabase } from "./support/database.js";
import { type Offer, PartnerAPlayer, type ReceivedResult } from "./support/partner-a.js";
import {
  eventually,
  MIGRATIONS_FOLDER,
  partnerBApi,
  type Sandbox,
  startPartnerB,
  startSandbox,
} from "./support/processes.js";
import { APP_B, APP_C, createTestWorld, POLICY_VERSION, SECRETS, type TestWorld } from "./support/world.js";

let world: TestWorld;
let sandbox: Sandbox;
let database: TestDatabase;
let partnerB: ServiceProcess;
let a: PartnerAPlayer;
let db: PartnerBDatabase;
let api: ReturnType<typeof partnerBApi>;
let didit: DiditClient;

beforeAll(async () => {
  const port = await freePort();
  world = await createTestWorld(`http://127.0.0.1:${port}/v1/webhooks/didit`);
  sandbox = await startSandbox(world);
  database = await createTestDatabase(MIGRATIONS_FOLDER);
  const prefix = `{${uniqueQueuePrefix("pb")}}`;
  partnerB = await startPartnerB({
    world,
    sandboxUrl: sandbox.url,
    databaseUrl: database.url,
    queuePrefix: prefix,
    port,
  });
  db = new PartnerBDatabase(database.url);
  a = await PartnerAPlayer.create(world, sandbox, prefix, db);
  api = partnerBApi(partnerB);
  didit = sandbox.client(APP_B.apiKey);
});

afterAll(async () => {
  await a?.close();
  await partnerB?.stop();
  await sandbox?.stop();
  await db?.close();
  await database?.drop();
  world?.cleanup();
});

/** Waits for the n-th import result of a share. */
function results(offer: Offer, count = 1): Promise<ReceivedResult[]> {
  return eventually(async () => {
    const received = await a.resultsFor(offer.shareId);
    return received.length >= count ? received : undefined;
  }, `${count} result(s) for share ${offer.shareId}`);
}

/** B's sessions in Didit for a vendor_data: the ground truth of what was imported. */
async function diditSessionsOf(vendorData: string) {
  return (await didit.listSessions({ vendor_data: vendorData })).results;
}

interface ImportView {
  vendor_data: string;
  status: string;
  policy: { version: string; workflow_id: string; trust_review: boolean };
  didit: { session_id: string; status: string; shared_from_session: string };
}

async function importView(importId: string) {
  const { status, body } = await api<ImportView>("GET", `/v1/imports/${importId}`);
  expect(status).toBe(200);
  return body;
}

/** The refusal outcome the brief asks for: one rejection at B, a result sent, no Didit import. */
async function expectRejected(offer: Offer, reason: string, vendorData: string) {
  const [result] = await results(offer);
  expect(result?.payload).toMatchObject({ share_id: offer.shareId, outcome: "rejected", reason });
  const rows = await db.importsOfShare(offer.shareId);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ status: "rejected", reason, didit_session_id: null });
  const audit = await db.auditOf(offer.shareId);
  expect(audit.filter((event) => event.action === "import.rejected")).toEqual([
    expect.objectContaining({ outcome: reason }),
  ]);
  // The sender audits result.sent once the job is on the sharer's queue, so it may trail the result.
  await eventually(async () => {
    const actions = (await db.auditOf(offer.shareId)).map((event) => event.action);
    return actions.includes("result.sent") ? true : undefined;
  }, `result.sent audited for ${offer.shareId}`);
  return { result, vendorSessions: await diditSessionsOf(vendorData) };
}

async function deadLetterAudit(jobId: string) {
  return eventually(async () => {
    const rows = await db.query<{ outcome: string; source_partner: string | null }>(
      "select outcome, source_partner from audit_events where action = 'envelope.dead_lettered' and details->>'job_id' = $1",
      [jobId],
    );
    return rows.length > 0 ? rows : undefined;
  }, `the dead-letter audit of ${jobId}`);
}

describe("importing shared sessions", () => {
  let approvedOffer: Offer;
  let approvedImportId: string;

  it("imports with trust_review true as Approved and sends the sharer an imported result", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    approvedOffer = await a.share({ scope: "kyc", userRef });
    const [result] = await results(approvedOffer);
    expect(result?.jobId).toBe(approvedOffer.shareId);
    expect(result?.payload).toMatchObject({
      share_id: approvedOffer.shareId,
      outcome: "imported",
      session_status: "Approved",
      shared_from_session: approvedOffer.sessionId,
    });
    approvedImportId = result?.payload.import_id as string;

    const view = await importView(approvedImportId);
    expect(view).toMatchObject({
      share_id: approvedOffer.shareId,
      source: "partner-a",
      status: "imported",
      vendor_data: userRef,
      scope: "kyc",
      policy: { version: POLICY_VERSION, workflow_id: APP_B.kyc, trust_review: true },
      didit: { status: "Approved", shared_from_session: approvedOffer.sessionId },
    });
    const sessions = await diditSessionsOf(userRef);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({
      session_id: view.didit.session_id,
      shared_from_session: approvedOffer.sessionId,
    });

    const actions = (await db.auditOf(approvedOffer.shareId)).map((event) => event.action);
    expect(actions).toEqual(["import.received", "import.imported", "result.sent"]);
  });

  it("imports with trust_review false as In Review; a review decides it by webhook and refreshes the result", async () => {
    const offer = await a.share({ scope: "kyc+aml" });
    const [first] = await results(offer);
    expect(first?.payload).toMatchObject({ outcome: "imported", session_status: "In Review" });
    const importId = first?.payload.import_id as string;
    const before = await importView(importId);
    expect(before.vendor_data).toMatch(/^b-user-[0-9a-f-]{36}$/);
    expect(before.policy.trust_review).toBe(false);

    const review = await api("POST", `/v1/imports/${importId}/review`, {
      decision: "Declined",
      comment: "document mismatch",
    });
    expect(review.status).toBe(202);
    expect(review.body).toMatchObject({ import_id: importId, decision: "Declined" });

    const refreshed = await results(offer, 2);
    expect(refreshed[1]).toMatchObject({
      jobId: `${offer.shareId}-1`,
      payload: {
        share_id: offer.shareId,
        outcome: "imported",
        import_id: importId,
        session_status: "Declined",
      },
    });
    expect((await importView(importId)).didit.status).toBe("Declined");
    const actions = (await db.auditOf(offer.shareId)).map((event) => event.action);
    expect(actions).toEqual(
      expect.arrayContaining(["import.review_requested", "import.session_status_changed"]),
    );

    const again = await api<{ error: { code: string } }>("POST", `/v1/imports/${importId}/review`, {
      decision: "Approved",
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("not_in_review");
  });

  it("answers 409 not_in_review for an import Didit already approved, 404 for an unknown import", async () => {
    const approved = await api<{ error: { code: string } }>(
      "POST",
      `/v1/imports/${approvedImportId}/review`,
      {
        decision: "Approved",
      },
    );
    expect(approved.status).toBe(409);
    expect(approved.body.error.code).toBe("not_in_review");
    const unknown = await api<{ error: { code: string } }>("GET", `/v1/imports/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("import_not_found");
  });

  it("refuses a token addressed to another application before calling Didit", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await a.share({ forApplicationId: APP_C.id, userRef });
    const { vendorSessions } = await expectRejected(offer, "token_for_another_application", userRef);
    expect(vendorSessions).toHaveLength(0);
  });

  it("refuses a second share of an already imported session, even for the same partner-b user", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const first = await a.share({ userRef });
    expect((await results(first))[0]?.payload.outcome).toBe("imported");
    const second = await a.share({ sessionId: first.sessionId, userRef });
    const { vendorSessions } = await expectRejected(second, "forbidden", userRef);
    expect(vendorSessions).toHaveLength(1);
  });

  it("dead-letters a tampered envelope and never imports it", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await a.prepareOffer({ userRef });
    const segments = offer.envelope.split(".");
    const ciphertext = segments[3] as string;
    segments[3] = `${ciphertext[0] === "A" ? "B" : "A"}${ciphertext.slice(1)}`;
    await a.deliver(segments.join("."), offer.shareId);
    expect(await deadLetterAudit(offer.shareId)).toEqual([
      { outcome: "undecryptable", source_partner: null },
    ]);
    expect(await a.deadLetters()).toContainEqual({ id: offer.shareId, reason: "undecryptable" });
    expect(await db.importsOfShare(offer.shareId)).toHaveLength(0);
    expect(await a.resultsFor(offer.shareId)).toHaveLength(0);
    expect(await diditSessionsOf(userRef)).toHaveLength(0);
  });

  it("dead-letters an envelope signed by a key no partner registered", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await a.prepareOffer({ userRef });
    await a.deliver(await a.sealWith(offer, { keys: world.keys.rogueA }), offer.shareId);
    expect(await deadLetterAudit(offer.shareId)).toEqual([
      { outcome: "unknown_sender", source_partner: null },
    ]);
    expect(await db.importsOfShare(offer.shareId)).toHaveLength(0);
    expect(await diditSessionsOf(userRef)).toHaveLength(0);
  });

  it("dead-letters an envelope addressed to another partner", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await a.prepareOffer({ userRef });
    const misaddressed = await a.sealWith(offer, { registryFile: world.misaddressFile, to: "partner-c" });
    await a.deliver(misaddressed, offer.shareId);
    expect(await deadLetterAudit(offer.shareId)).toEqual([
      { outcome: "wrong_audience", source_partner: "partner-a" },
    ]);
    expect(await db.importsOfShare(offer.shareId)).toHaveLength(0);
    expect(await diditSessionsOf(userRef)).toHaveLength(0);
  });

  it("treats a replayed envelope as a no-op that only sends the same result again", async () => {
    await a.deliver(approvedOffer.envelope, `${approvedOffer.shareId}-replay`);
    const received = await results(approvedOffer, 2);
    expect(received.map((result) => result.payload.outcome)).toEqual(["imported", "imported"]);
    expect(new Set(received.map((result) => result.payload.import_id))).toEqual(new Set([approvedImportId]));
    const rows = await db.importsOfShare(approvedOffer.shareId);
    expect(rows).toHaveLength(1);
    expect(await diditSessionsOf((await importView(approvedImportId)).vendor_data)).toHaveLength(1);
    const audit = await db.auditOf(approvedOffer.shareId);
    expect(audit.filter((event) => event.action === "import.received")).toHaveLength(1);
    expect(audit.filter((event) => event.action === "import.imported")).toHaveLength(1);
    expect(audit).toContainEqual(
      expect.objectContaining({ action: "import.replayed", outcome: "result_resent" }),
    );
  });
});

describe("partner-b's API", () => {
  it("lists imports newest first with filters and cursor pagination", async () => {
    const all = await api<{ imports: { import_id: string; status: string }[]; next_cursor: string | null }>(
      "GET",
      "/v1/imports?limit=200",
    );
    expect(all.status).toBe(200);
    expect(all.body.imports.length).toBeGreaterThanOrEqual(5);

    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { imports: { import_id: string }[]; next_cursor: string | null } } = await api(
        "GET",
        `/v1/imports?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      pages.push(...page.body.imports.map((row) => row.import_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual(all.body.imports.map((row) => row.import_id));

    const rejected = await api<{ imports: { status: string; source: string }[] }>(
      "GET",
      "/v1/imports?status=rejected&source=partner-a",
    );
    expect(rejected.body.imports.length).toBeGreaterThanOrEqual(2);
    expect(rejected.body.imports.every((row) => row.status === "rejected")).toBe(true);
    const bad = await api<{ error: { code: string } }>("GET", "/v1/imports?status=lost");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("validation_failed");
  });

  it("shows the import policy in force", async () => {
    const { status, body } = await api("GET", "/v1/policies");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      version: POLICY_VERSION,
      default: { workflow_id: APP_B.kyc, trust_review: false },
      rules: [
        { source: "partner-a", scope: "kyc", trust_review: true },
        { source: "partner-a", scope: "kyc+aml", trust_review: false },
      ],
    });
  });

  it("serves the audit trail newest first, filtered by import, and refuses it without a key", async () => {
    const imported = await api<{ imports: { import_id: string }[] }>(
      "GET",
      "/v1/imports?status=imported&limit=1",
    );
    const importId = imported.body.imports[0]?.import_id as string;
    const { status, body } = await api<{
      events: { action: string; import_id: string; token_id: string | null }[];
    }>("GET", `/v1/audit?import_id=${importId}`);
    expect(status).toBe(200);
    expect(body.events.length).toBeGreaterThanOrEqual(3);
    expect(body.events.every((event) => event.import_id === importId)).toBe(true);
    expect(body.events.at(-1)?.action).toBe("import.received");
    expect(body.events[0]?.token_id).toMatch(/^[0-9a-f]{16}$/);
    expect((await fetch(`${partnerB.url}/v1/audit`)).status).toBe(401);
  });

  it("rejects a Didit webhook whose signature does not match, without a key", async () => {
    const response = await fetch(`${partnerB.url}/v1/webhooks/didit`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-signature-v2": "0".repeat(64) },
      body: JSON.stringify({
        event_id: "e1",
        webhook_type: "status.updated",
        timestamp: Math.floor(Date.now() / 1000),
      }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
  });

  it("acknowledges a signed event it does not act on with 200 ignored, recorded once", async () => {
    const body = { webhook_type: "activity.created", timestamp: Math.floor(Date.now() / 1000) };
    const signed = signWebhook(body, APP_B.webhookSecret);
    const deliver = () =>
      fetch(`${partnerB.url}/v1/webhooks/didit`, {
        method: "POST",
        headers: { "content-type": "application/json", ...signed.headers },
        body: signed.rawBody,
      });
    const first = await deliver();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: "ignored" });
    expect(await (await deliver()).json()).toEqual({ status: "duplicate" });
    expect(
      await db.query("select webhook_type, applied from webhook_events where event_id = $1", [
        webhookEventKey(body),
      ]),
    ).toEqual([{ webhook_type: "activity.created", applied: "ignored" }]);
  });

  it("never stores or logs a share token, an API key or a webhook secret", async () => {
    const dump = await db.dumpAllTables();
    const output = partnerB.output();
    expect(a.tokens.length).toBeGreaterThan(5);
    for (const secret of [...a.tokens, ...SECRETS]) {
      expect(dump).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
    // Tokens are kept as their hash, which is how a later delivery is recognised.
    const hash = createHash("sha256")
      .update(a.tokens[0] as string)
      .digest("hex");
    expect(dump).toContain(hash);
  });
});

describe("revocations from the sharer", () => {
  it("never imports an offer whose revocation arrived first, and answers revoked each time", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const offer = await a.prepareOffer({ userRef: recipientRef });
    await a.revoke(offer.shareId);
    const [first] = await results(offer);
    expect(first?.payload).toMatchObject({
      share_id: offer.shareId,
      outcome: "revoked",
      reason: "consent_withdrawn",
    });
    expect(first?.payload.consent_withdrawn_at).toBeDefined();

    await a.deliver(offer.envelope, offer.shareId);
    const [, again] = await results(offer, 2);
    expect(again?.payload).toMatchObject({ outcome: "revoked" });
    await eventually(async () => ((await a.inboxSettled()) ? true : undefined), "partner-b's inbox drained");
    expect(await db.importsOfShare(offer.shareId)).toEqual([
      expect.objectContaining({ status: "revoked", didit_session_id: null }),
    ]);
    expect(await diditSessionsOf(recipientRef)).toEqual([]);
    expect((await db.auditOf(offer.shareId)).map((event) => event.action)).toEqual(
      expect.arrayContaining(["import.revoked", "import.replayed"]),
    );
  });

  it("never imports an offer whose revocation is queued right behind it", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const offer = await a.prepareOffer({ userRef: recipientRef });
    await a.deliver(offer.envelope, offer.shareId);
    await a.revoke(offer.shareId);
    const received = await eventually(async () => {
      const found = await a.resultsFor(offer.shareId);
      return found.some((result) => result.payload.outcome === "revoked") ? found : undefined;
    }, "a revoked result");
    expect(received.map((result) => result.payload.outcome)).not.toContain("imported");
    await eventually(async () => ((await a.inboxSettled()) ? true : undefined), "partner-b's inbox drained");
    expect(await diditSessionsOf(recipientRef)).toEqual([]);
    expect(await db.importsOfShare(offer.shareId)).toEqual([expect.objectContaining({ status: "revoked" })]);
  });

  it("keeps an import it already made and records the consent's withdrawal on it", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const offer = await a.share({ userRef: recipientRef });
    const [imported] = await results(offer);
    expect(imported?.payload.outcome).toBe("imported");
    await a.revoke(offer.shareId);
    const [, notice] = await results(offer, 2);
    expect(notice?.payload).toMatchObject({ outcome: "imported" });
    expect(notice?.payload.consent_withdrawn_at).toBeDefined();
    const view = await api<{ status: string; consent_withdrawn_at: string | null }>(
      "GET",
      `/v1/imports/${imported?.payload.import_id}`,
    );
    expect(view.body).toMatchObject({ status: "imported" });
    expect(view.body.consent_withdrawn_at).not.toBeNull();
    expect(await diditSessionsOf(recipientRef)).toHaveLength(1);
  });
});
