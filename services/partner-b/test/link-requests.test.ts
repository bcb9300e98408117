import { randomUUID } from "node:crypto";
import type { DiditClient } from "@share-broker/didit";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partnerBConfigSchema } from "../src/config.js";
import { linkCodeHash } from "../src/links/link-codes.js";
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
import { APP_B, createTestWorld, type TestWorld } from "./support/world.js";

// Shorter than the default, so the test sees the setting applied.
const TTL_SECONDS = 600;

let world: TestWorld;
let sandbox: Sandbox;
let database: TestDatabase;
let partnerB: ServiceProcess;
let a: PartnerAPlayer;
let db: PartnerBDatabase;
let api: ReturnType<typeof partnerBApi>;
let didit: DiditClient;
let prefix: string;
/** Every link code issued in this file, for the "never stored, never logged" check. */
const codes: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  world = await createTestWorld(`http://127.0.0.1:${port}/v1/webhooks/didit`);
  sandbox = await startSandbox(world);
  database = await createTestDatabase(MIGRATIONS_FOLDER);
  prefix = `{${uniqueQueuePrefix("pbl")}}`;
  partnerB = await startPartnerB({
    world,
    sandboxUrl: sandbox.url,
    databaseUrl: database.url,
    queuePrefix: prefix,
    port,
    env: { LINK_REQUEST_TTL_SECONDS: String(TTL_SECONDS) },
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

interface Created {
  link_id: string;
  code: string;
  expires_at: string;
}

interface LinkRequestView {
  link_id: string;
  user_ref: string;
  source: string | null;
  status: "open" | "used" | "expired";
  used_at: string | null;
  import_id: string | null;
}

/** POST /v1/link-requests as partner-b's own front end would call it. */
async function issue(body: Record<string, unknown>): Promise<Created> {
  const { status, body: created } = await api<Created>("POST", "/v1/link-requests", body);
  expect(status).toBe(201);
  codes.push(created.code);
  return created;
}

async function linkRequest(linkId: string): Promise<LinkRequestView> {
  const { status, body } = await api<LinkRequestView>("GET", `/v1/link-requests/${linkId}`);
  expect(status).toBe(200);
  return body;
}

function results(offer: Offer, count = 1): Promise<ReceivedResult[]> {
  return eventually(async () => {
    const received = await a.resultsFor(offer.shareId);
    return received.length >= count ? received : undefined;
  }, `${count} result(s) for share ${offer.shareId}`);
}

/** partner-b's copies in Didit of a source session, whatever their vendor_data: the ground truth. */
async function copiesOf(sourceSessionId: string) {
  const { results: sessions } = await didit.listSessions({ limit: 100 });
  return sessions.filter((session) => session.shared_from_session === sourceSessionId);
}

async function countLinkRequests(): Promise<number> {
  const [row] = await db.query<{ n: string }>("select count(*) as n from link_requests");
  return Number(row?.n);
}

/** A refused code: the import recorded rejected with the reason, the sharer told so, nothing imported. */
async function expectRefused(offer: Offer, reason: string) {
  const [result] = await results(offer);
  expect(result?.payload).toMatchObject({ share_id: offer.shareId, outcome: "rejected", reason });
  const rows = await db.query<{
    status: string;
    reason: string;
    vendor_data: string | null;
    link_id: string | null;
  }>("select status, reason, vendor_data, link_id from imports where share_id = $1", [offer.shareId]);
  expect(rows).toEqual([{ status: "rejected", reason, vendor_data: null, link_id: null }]);
  const audit = await db.auditOf(offer.shareId);
  expect(audit.map((event) => [event.action, event.outcome])).toEqual([
    ["import.received", "received"],
    ["import.rejected", reason],
    ["result.sent", "rejected"],
  ]);
  expect(await copiesOf(offer.sessionId)).toEqual([]);
}

describe("issuing link requests", () => {
  it("answers 201 with a high-entropy URL-safe code valid for LINK_REQUEST_TTL_SECONDS, storing only its hash", async () => {
    const before = Date.now();
    const userRef = `b-user-${randomUUID()}`;
    const created = await issue({ user_ref: userRef });
    expect(created.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const lifetime = Date.parse(created.expires_at) - before;
    expect(lifetime).toBeGreaterThan((TTL_SECONDS - 30) * 1000);
    expect(lifetime).toBeLessThan((TTL_SECONDS + 30) * 1000);
    expect(await linkRequest(created.link_id)).toMatchObject({
      link_id: created.link_id,
      user_ref: userRef,
      source: null,
      status: "open",
      used_at: null,
      import_id: null,
    });
    const [stored] = await db.query<{ code_hash: string }>(
      "select code_hash from link_requests where link_id = $1",
      [created.link_id],
    );
    expect(stored?.code_hash).toBe(linkCodeHash(created.code));
    const audit = await db.query<{ action: string; details: Record<string, unknown> }>(
      "select action, details from audit_events where details->>'link_id' = $1",
      [created.link_id],
    );
    expect(audit).toEqual([
      {
        action: "link_request.created",
        details: { link_id: created.link_id, expires_at: created.expires_at },
      },
    ]);
    // Two codes are never alike.
    const other = await issue({ user_ref: userRef });
    expect(other.code).not.toBe(created.code);
  });

  it("refuses bad input with a stable code and stores nothing", async () => {
    const before = await countLinkRequests();
    const refusals: [unknown, number, string][] = [
      [{}, 400, "validation_failed"],
      [{ user_ref: "" }, 400, "validation_failed"],
      [{ user_ref: "x".repeat(257) }, 400, "validation_failed"],
      [{ user_ref: 42 }, 400, "validation_failed"],
      [{ user_ref: "u-1", vendor_data: "u-2" }, 400, "validation_failed"],
      [{ user_ref: "u-1", source: "Not A Partner!" }, 400, "validation_failed"],
      [{ user_ref: "u-1", source: "partner-zz" }, 400, "unknown_source"],
      [{ user_ref: "u-1", source: "partner-b" }, 400, "unknown_source"],
    ];
    for (const [body, status, code] of refusals) {
      const answer = await api<{ error: { code: string } }>("POST", "/v1/link-requests", body);
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    const unauthenticated = await fetch(`${partnerB.url}/v1/link-requests`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_ref: "u-1" }),
    });
    expect(unauthenticated.status).toBe(401);
    expect(await countLinkRequests()).toBe(before);
    const missing = await api<{ error: { code: string } }>("GET", `/v1/link-requests/${randomUUID()}`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "link_request_not_found"]);
    const notAnId = await api<{ error: { code: string } }>("GET", "/v1/link-requests/nope");
    expect([notAnId.status, notAnId.body.error.code]).toEqual([400, "validation_failed"]);
  });

  it("bounds LINK_REQUEST_TTL_SECONDS to 30 minutes, 30 minutes by default", () => {
    const ttl = partnerBConfigSchema.shape.LINK_REQUEST_TTL_SECONDS;
    expect(ttl.parse(undefined)).toBe(1800);
    expect(ttl.parse("60")).toBe(60);
    expect(ttl.safeParse("1801").success).toBe(false);
    expect(ttl.safeParse("0").success).toBe(false);
  });
});

describe("redeeming link codes", () => {
  it("imports for the link request's user_ref, marks it used, and a redelivery stays one import", async () => {
    const userRef = `b-user-${randomUUID()}`;
    const created = await issue({ user_ref: userRef, source: "partner-a" });
    const offer = await a.share({ linkCode: created.code });
    const [result] = await results(offer);
    expect(result?.payload).toMatchObject({ outcome: "imported", session_status: "Approved" });
    const { body: view } = await api<{ vendor_data: string; link_id: string }>(
      "GET",
      `/v1/imports/${result?.payload.import_id}`,
    );
    expect(view).toMatchObject({ vendor_data: userRef, link_id: created.link_id });
    const copies = await copiesOf(offer.sessionId);
    expect(copies.map((copy) => copy.vendor_data)).toEqual([userRef]);
    expect(await linkRequest(created.link_id)).toMatchObject({
      status: "used",
      import_id: result?.payload.import_id,
    });

    // The same offer again (a redelivery, e.g. after partner-a's re-drive): a replay, not a reuse.
    await a.deliver(offer.envelope, `${offer.shareId}-again`);
    const again = await results(offer, 2);
    expect(again.map((received) => [received.payload.outcome, received.payload.reason])).toEqual([
      ["imported", undefined],
      ["imported", undefined],
    ]);
    expect(await db.importsOfShare(offer.shareId)).toHaveLength(1);
    expect(await copiesOf(offer.sessionId)).toHaveLength(1);
  });

  it("refuses a code partner-b never issued as link_code_unknown", async () => {
    const offer = await a.share({ linkCode: `never-issued-${randomUUID()}` });
    await expectRefused(offer, "link_code_unknown");
  });

  it("refuses an expired code as link_code_expired", async () => {
    // Another partner-b process on the same database and queues, whose codes live one second.
    const shortLived = await startPartnerB({
      world,
      sandboxUrl: sandbox.url,
      databaseUrl: database.url,
      queuePrefix: prefix,
      port: await freePort(),
      env: { LINK_REQUEST_TTL_SECONDS: "1" },
    });
    let created: Created;
    try {
      const answer = await partnerBApi(shortLived)<Created>("POST", "/v1/link-requests", {
        user_ref: `b-user-${randomUUID()}`,
      });
      expect(answer.status).toBe(201);
      created = answer.body;
    } finally {
      await shortLived.stop();
    }
    codes.push(created.code);
    const offer = await a.prepareOffer({ linkCode: created.code });
    const wait = Date.parse(created.expires_at) - Date.now() + 300;
    expect(wait).toBeLessThan(1500);
    await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
    expect((await linkRequest(created.link_id)).status).toBe("expired");
    await a.deliver(offer.envelope, offer.shareId);
    await expectRefused(offer, "link_code_expired");
    expect((await linkRequest(created.link_id)).status).toBe("expired");
  });

  it("refuses a code another share used as link_code_used, importing nothing more", async () => {
    const userRef = `b-user-${randomUUID()}`;
    const created = await issue({ user_ref: userRef });
    const first = await a.share({ linkCode: created.code });
    expect((await results(first))[0]?.payload.outcome).toBe("imported");
    // Another of partner-a's users, the same code: it would attach their identity to userRef.
    const second = await a.share({ linkCode: created.code });
    await expectRefused(second, "link_code_used");
    expect((await didit.listSessions({ vendor_data: userRef })).results).toHaveLength(1);
    expect((await linkRequest(created.link_id)).import_id).toBe((await results(first))[0]?.payload.import_id);
  });

  it("refuses a code restricted to another source as link_code_unknown", async () => {
    const code = await db.issueLink(`b-user-${randomUUID()}`, { source: "partner-c" });
    codes.push(code);
    const offer = await a.share({ linkCode: code });
    await expectRefused(offer, "link_code_unknown");
    const [link] = await db.query<{ used_at: Date | null }>(
      "select used_at from link_requests where code_hash = $1",
      [linkCodeHash(code)],
    );
    expect(link?.used_at).toBeNull();
  });

  it("lets exactly one of several concurrent offers carrying one code import", async () => {
    for (let round = 0; round < 3; round += 1) {
      const userRef = `b-user-${randomUUID()}`;
      const created = await issue({ user_ref: userRef });
      const offers = await Promise.all([1, 2, 3].map(() => a.prepareOffer({ linkCode: created.code })));
      await Promise.all(offers.map((offer) => a.deliver(offer.envelope, offer.shareId)));
      const outcomes = await Promise.all(offers.map(async (offer) => (await results(offer))[0]?.payload));
      const imported = outcomes.filter((outcome) => outcome?.outcome === "imported");
      expect(imported).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome?.reason === "link_code_used")).toHaveLength(2);
      expect((await didit.listSessions({ vendor_data: userRef })).results).toHaveLength(1);
      expect((await linkRequest(created.link_id)).import_id).toBe(imported[0]?.import_id);
    }
  });

  it("shows a code's state: expired once its time passed unused", async () => {
    const code = await db.issueLink(`b-user-${randomUUID()}`, { expiresInSeconds: 1 });
    codes.push(code);
    const [row] = await db.query<{ link_id: string }>(
      "select link_id from link_requests where code_hash = $1",
      [linkCodeHash(code)],
    );
    expect((await linkRequest(row?.link_id as string)).status).toBe("open");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await linkRequest(row?.link_id as string)).status).toBe("expired");
  });

  it("never stores or logs a link code", async () => {
    expect(codes.length).toBeGreaterThan(5);
    const dump = await db.dumpAllTables();
    const output = partnerB.output();
    for (const code of codes) {
      expect(dump).not.toContain(code);
      expect(output).not.toContain(code);
    }
  });
});
