import { randomUUID } from "node:crypto";
import { errorBodySchema, importErasedSchema, importSchema } from "@share-broker/contracts";
import { type DiditClient, DiditNotFoundError } from "@share-broker/didit";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerBDatabase } from "./support/database.js";
import { type Offer, PartnerAPlayer } from "./support/partner-a.js";
import {
  eventually,
  MIGRATIONS_FOLDER,
  partnerBApi,
  type Sandbox,
  startPartnerB,
  startSandbox,
} from "./support/processes.js";
import { APP_B, createTestWorld, type TestWorld } from "./support/world.js";

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
    env: {
      RETENTION_INTERVAL_MS: "300",
      RETENTION_BATCH_SIZE: "2",
      WEBHOOK_EVENT_RETENTION_DAYS: "10",
      SENT_RESULT_RETENTION_DAYS: "5",
      LINK_REQUEST_RETENTION_DAYS: "3",
    },
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

/** Shares a new user with partner-b under `recipientRef` and waits for the finished import. */
async function importedOffer(
  recipientRef: string,
): Promise<{ offer: Offer; importId: string; copy: string }> {
  const offer = await a.share({ scope: "kyc", userRef: recipientRef });
  const [row] = await eventually(async () => {
    const rows = await db.importsOfShare(offer.shareId);
    return rows[0]?.status === "imported" ? rows : undefined;
  }, `the import of ${offer.shareId}`);
  if (!row?.didit_session_id) throw new Error("imported without a Didit copy");
  return { offer, importId: row.import_id, copy: row.didit_session_id };
}

const erase = (importId: string) => api("DELETE", `/v1/imports/${importId}`);
const codeOf = (body: unknown) => errorBodySchema.parse(body).error.code;

describe("DELETE /v1/imports/{id}", () => {
  it("deletes partner-b's Didit copy, clears every user reference and audits import.erased", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const { offer, importId, copy } = await importedOffer(recipientRef);
    expect(await didit.listSessions({ vendor_data: recipientRef })).toMatchObject({ count: 1 });
    expect(await db.dumpAllTables()).toContain(recipientRef);

    const { status, body } = await erase(importId);
    expect(status).toBe(200);
    const erased = importErasedSchema.parse(body);
    expect(erased).toMatchObject({ import_id: importId, status: "imported", deleted_didit_session: copy });

    // The copy is gone at Didit.
    expect((await didit.listSessions({ vendor_data: recipientRef })).results).toEqual([]);
    await expect(didit.getDecision(copy)).rejects.toBeInstanceOf(DiditNotFoundError);
    // No table holds the user's reference any more, nor the sharer's pseudonym outside the audit trail.
    expect(await db.dumpAllTables()).not.toContain(recipientRef);
    const [row] = await db.query("select * from imports where import_id = $1", [importId]);
    expect(row).toMatchObject({
      vendor_data: "",
      user_pseudonym: null,
      consent_id: null,
      claimed_source_session: null,
      shared_from_session: null,
      status: "imported",
    });
    const view = importSchema.parse((await api("GET", `/v1/imports/${importId}`)).body);
    expect(view.erased_at).toBe(erased.erased_at);
    const actions = (await db.auditOf(offer.shareId)).map((event) => event.action);
    expect(actions).toContain("import.erased");
    const [audited] = await db.query<{ user_pseudonym: string; details: Record<string, unknown> }>(
      "select user_pseudonym, details from audit_events where import_id = $1 and action = 'import.erased'",
      [importId],
    );
    expect(audited).toEqual({
      user_pseudonym: offer.payload.user_pseudonym,
      details: { deleted_didit_session: copy },
    });
    expect(partnerB.output()).not.toContain(recipientRef.slice(6));

    // Erasing again answers the first erasure and changes nothing.
    const again = await erase(importId);
    expect(again.status).toBe(200);
    expect(importErasedSchema.parse(again.body)).toEqual(erased);
    expect(
      (await db.auditOf(offer.shareId)).filter((event) => event.action === "import.erased"),
    ).toHaveLength(1);
  });

  it("refuses an import still in flight with 409 import_in_flight, and erases it once finished", async () => {
    // import-shared answers after 2 s: meanwhile the import is held by its delivery.
    const fault = await sandbox.control<{ fault_id: string }>("POST", "/faults", {
      method: "POST",
      path: "/v3/session/import-shared/",
      latency_ms: 2000,
      times: 1,
    });
    expect(fault.status).toBe(201);
    const recipientRef = `b-ref-${randomUUID()}`;
    const offer = await a.share({ scope: "kyc", userRef: recipientRef });
    const [inFlight] = await eventually(async () => {
      const rows = await db.importsOfShare(offer.shareId);
      return rows[0]?.status === "importing" ? rows : undefined;
    }, "the import in flight");
    if (!inFlight) throw new Error("no import");
    const refused = await erase(inFlight.import_id);
    expect(refused.status).toBe(409);
    expect(codeOf(refused.body)).toBe("import_in_flight");
    const [unchanged] = await db.query("select vendor_data, erased_at from imports where import_id = $1", [
      inFlight.import_id,
    ]);
    expect(unchanged).toEqual({ vendor_data: recipientRef, erased_at: null });

    await eventually(async () => {
      const rows = await db.importsOfShare(offer.shareId);
      return rows[0]?.status === "imported" ? true : undefined;
    }, "the import finishing");
    expect((await erase(inFlight.import_id)).status).toBe(200);
    expect((await didit.listSessions({ vendor_data: recipientRef })).results).toEqual([]);
  });

  it("answers 503 didit_unavailable when Didit cannot delete the copy, and changes nothing", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const { importId, copy } = await importedOffer(recipientRef);
    const fault = await sandbox.control<{ fault_id: string }>("POST", "/faults", {
      method: "DELETE",
      path: "/v3/session/*/delete/",
      status: 503,
    });
    const failed = await erase(importId);
    expect(failed.status).toBe(503);
    expect(codeOf(failed.body)).toBe("didit_unavailable");
    const [row] = await db.query("select vendor_data, erased_at from imports where import_id = $1", [
      importId,
    ]);
    expect(row).toEqual({ vendor_data: recipientRef, erased_at: null });
    expect((await didit.getDecision(copy)).session_id).toBe(copy);

    expect((await sandbox.control("DELETE", `/faults/${fault.body.fault_id}`)).status).toBe(204);
    expect((await erase(importId)).status).toBe(200);
    await expect(didit.getDecision(copy)).rejects.toBeInstanceOf(DiditNotFoundError);
  });

  it("finds and deletes a Didit copy the import never recorded (its answer was lost, the import failed)", async () => {
    const recipientRef = `b-ref-${randomUUID()}`;
    const { importId, copy } = await importedOffer(recipientRef);
    // What a lost import answer leaves behind: the copy exists at Didit, the import does not know it.
    await db.query("update imports set status = 'failed', didit_session_id = null where import_id = $1", [
      importId,
    ]);

    const { status, body } = await erase(importId);
    expect(status).toBe(200);
    expect(importErasedSchema.parse(body)).toMatchObject({ status: "failed", deleted_didit_session: copy });
    await expect(didit.getDecision(copy)).rejects.toBeInstanceOf(DiditNotFoundError);
    expect(importErasedSchema.parse((await erase(importId)).body).deleted_didit_session).toBe(copy);
  });

  it("refuses to review an erased import that was In Review: its Didit copy is gone", async () => {
    const offer = await a.share({ scope: "kyc+aml" });
    const [row] = await eventually(async () => {
      const rows = await db.importsOfShare(offer.shareId);
      return rows[0]?.status === "imported" ? rows : undefined;
    }, "the In Review import");
    if (!row) throw new Error("no import");
    expect((await erase(row.import_id)).status).toBe(200);
    const review = await api("POST", `/v1/imports/${row.import_id}/review`, { decision: "Approved" });
    expect(review.status).toBe(409);
    expect(codeOf(review.body)).toBe("not_in_review");
  });

  it("answers 404 import_not_found for an unknown id and 400 validation_failed for a malformed one", async () => {
    const unknown = await erase(randomUUID());
    expect(unknown.status).toBe(404);
    expect(codeOf(unknown.body)).toBe("import_not_found");
    const malformed = await erase("not-an-id");
    expect(malformed.status).toBe(400);
    expect(codeOf(malformed.body)).toBe("validation_failed");
  });
});

describe("retention at partner-b", () => {
  it("deletes old webhook events and old sent results (each import's latest stays), nothing younger", async () => {
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const oldEvents = Array.from({ length: 5 }, (_, index) => `evt-old-${index}-${randomUUID()}`);
    const youngEvent = `evt-young-${randomUUID()}`;
    await db.query(
      "insert into webhook_events (event_id, webhook_type, applied, received_at) select unnest($1::text[]), 'status.updated', 'applied', $2",
      [oldEvents, daysAgo(11)],
    );
    await db.query(
      "insert into webhook_events (event_id, webhook_type, applied, received_at) values ($1, 'status.updated', 'applied', $2)",
      [youngEvent, daysAgo(9)],
    );
    // Import X: three results sent 6 days ago (seq 2 is its latest and stays); import Y: one sent yesterday.
    const [x, y] = [randomUUID(), randomUUID()];
    await db.query(
      `insert into result_outbox (import_id, seq, job_id, source_partner, kind, payload, sent_at, created_at)
       values ($1, 0, 'x', 'partner-a', 'outcome', '{}', $3, $3), ($1, 1, 'x-1', 'partner-a', 'resend', '{}', $3, $3),
              ($1, 2, 'x-2', 'partner-a', 'resend', '{}', $3, $3), ($2, 0, 'y', 'partner-a', 'outcome', '{}', $4, $4)`,
      [x, y, daysAgo(6), daysAgo(1)],
    );

    const left = await eventually(async () => {
      const events = await db.query<{ event_id: string }>(
        "select event_id from webhook_events where event_id = any($1)",
        [[...oldEvents, youngEvent]],
      );
      const results = await db.query<{ job_id: string }>(
        "select job_id from result_outbox where import_id = any($1) order by job_id",
        [[x, y]],
      );
      return events.length === 1 && results.length === 2 ? { events, results } : undefined;
    }, "retention of old rows");
    expect(left.events.map((row) => row.event_id)).toEqual([youngEvent]);
    expect(left.results.map((row) => row.job_id)).toEqual(["x-2", "y"]);
    // The pass logs right after its delete commits: the line may trail the rows by a moment.
    await eventually(
      async () => (/"rule":"result_outbox","deleted":2/.test(partnerB.output()) ? true : undefined),
      "the retention log line for result_outbox",
    );
  });

  it("deletes link requests some days past their expiry, used or not, and none younger", async () => {
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const [old, oldUsed, young] = [randomUUID(), randomUUID(), randomUUID()];
    await db.query(
      `insert into link_requests (link_id, user_ref, code_hash, created_at, expires_at, used_at)
       values ($1, 'old-user', $4, $6, $6, null), ($2, 'old-used-user', $5, $6, $6, $6),
              ($3, 'young-user', $7, $8, $8, null)`,
      [old, oldUsed, young, `h-${old}`, `h-${oldUsed}`, daysAgo(4), `h-${young}`, daysAgo(2)],
    );
    const left = await eventually(async () => {
      const rows = await db.query<{ link_id: string }>(
        "select link_id from link_requests where link_id = any($1)",
        [[old, oldUsed, young]],
      );
      return rows.length === 1 ? rows : undefined;
    }, "retention of old link requests");
    expect(left.map((row) => row.link_id)).toEqual([young]);
    await eventually(
      async () => (/"rule":"link_requests","deleted":2/.test(partnerB.output()) ? true : undefined),
      "the retention log line for link_requests",
    );
  });
});
