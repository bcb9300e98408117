import { randomUUID } from "node:crypto";
import { signWebhook, webhookEventKey } from "@share-broker/didit";
import type { ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditOf } from "../support/partner-a-flow.js";
import {
  apps,
  createWorld,
  newUserId,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
const SECRET = apps["partner-a"].webhookSecret;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a");
});
afterAll(async () => {
  await partnerA?.stop();
  await sandbox?.stop();
});

/** A session of partner-a for a new user, as POST /v1/verifications creates it. */
async function newSession(): Promise<{ userId: string; sessionId: string }> {
  const userId = newUserId();
  const response = await partnerA.call("POST", "/v1/verifications", { user_id: userId, kind: "reauth" });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { session_id: string; workflow_id: string };
  expect(body.workflow_id).toBe(apps["partner-a"].reusableKyc);
  return { userId, sessionId: body.session_id };
}

function event(sessionId: string, userId: string, status: string, createdAt: number, overrides = {}) {
  return {
    event_id: randomUUID(),
    webhook_type: "status.updated",
    timestamp: Math.floor(Date.now() / 1000),
    created_at: createdAt,
    application_id: apps["partner-a"].id,
    environment: "live",
    session_id: sessionId,
    status,
    workflow_id: apps["partner-a"].reusableKyc,
    workflow_version: 1,
    vendor_data: userId,
    metadata: {},
    ...overrides,
  };
}

function deliver(rawBody: string, headers: Record<string, string>) {
  return fetch(`${partnerA.url}/v1/webhooks/didit`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: rawBody,
  });
}

async function statusOf(userId: string): Promise<string> {
  const response = await partnerA.call("GET", `/v1/users/${userId}/verification`);
  return ((await response.json()) as { status: string }).status;
}

describe("partner-a's Didit webhook", () => {
  it("applies a signed event and answers 200 applied", async () => {
    const { userId, sessionId } = await newSession();
    const signed = signWebhook(event(sessionId, userId, "Approved", Math.floor(Date.now() / 1000)), SECRET);
    const response = await deliver(signed.rawBody, signed.headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "applied" });
    expect(await statusOf(userId)).toBe("Approved");
    const events = await auditOf(partnerA, `user_id=${userId}`);
    expect(events[0]).toMatchObject({ action: "verification.status_changed", outcome: "Approved" });
  });

  it("rejects a tampered body with 401 invalid_signature and changes nothing", async () => {
    const { userId, sessionId } = await newSession();
    const signed = signWebhook(event(sessionId, userId, "Declined", Math.floor(Date.now() / 1000)), SECRET);
    const tampered = signed.rawBody.replace('"Declined"', '"Approved"');
    const response = await deliver(tampered, signed.headers);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
    expect(await statusOf(userId)).toBe("Not Started");
  });

  it("rejects a body signed with another secret, or unsigned, with 401", async () => {
    const { userId, sessionId } = await newSession();
    const forged = signWebhook(
      event(sessionId, userId, "Approved", Math.floor(Date.now() / 1000)),
      "not-the-secret-00000",
    );
    expect((await deliver(forged.rawBody, forged.headers)).status).toBe(401);
    expect((await deliver(forged.rawBody, {})).status).toBe(401);
    expect(await statusOf(userId)).toBe("Not Started");
  });

  it("rejects an event whose signed timestamp is older than 300 s with 401 stale_webhook", async () => {
    const { userId, sessionId } = await newSession();
    const old = Math.floor(Date.now() / 1000) - 301;
    const signed = signWebhook(event(sessionId, userId, "Approved", old, { timestamp: old }), SECRET);
    // A refreshed X-Timestamp header does not help: freshness is read from the signed body.
    const response = await deliver(signed.rawBody, {
      ...signed.headers,
      "x-timestamp": String(Math.floor(Date.now() / 1000)),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("stale_webhook");
    expect(await statusOf(userId)).toBe("Not Started");
  });

  it("acknowledges a duplicate event_id with 200 and no second effect", async () => {
    const { userId, sessionId } = await newSession();
    const body = event(sessionId, userId, "In Review", Math.floor(Date.now() / 1000));
    const first = signWebhook(body, SECRET);
    expect(await (await deliver(first.rawBody, first.headers)).json()).toEqual({ status: "applied" });
    const again = signWebhook({ ...body, timestamp: Math.floor(Date.now() / 1000) }, SECRET);
    const response = await deliver(again.rawBody, again.headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "duplicate" });
    const changes = (await auditOf(partnerA, `user_id=${userId}`)).filter(
      (entry) => entry.action === "verification.status_changed",
    );
    expect(changes).toHaveLength(1);
  });

  it("applies an event without event_id, as Didit documents the body, and a repeat of it once", async () => {
    const { userId, sessionId } = await newSession();
    const { event_id: _undocumented, ...documented } = event(
      sessionId,
      userId,
      "In Progress",
      Math.floor(Date.now() / 1000),
    );
    const signed = signWebhook(documented, SECRET);
    const first = await deliver(signed.rawBody, signed.headers);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: "applied" });
    const repeat = await deliver(signed.rawBody, signed.headers);
    expect(await repeat.json()).toEqual({ status: "duplicate" });
    expect(await statusOf(userId)).toBe("In Progress");
    const changes = (await auditOf(partnerA, `user_id=${userId}`)).filter(
      (entry) => entry.action === "verification.status_changed",
    );
    expect(changes).toHaveLength(1);
  });

  it.each([
    ["a documented type it does not act on", { webhook_type: "activity.created", activity_id: randomUUID() }],
    ["a type Didit may add later", { webhook_type: "session.archived", session_id: randomUUID() }],
    [
      "a status it does not know",
      { webhook_type: "status.updated", session_id: randomUUID(), status: "Paused" },
    ],
  ])("acknowledges %s with 200 ignored and records it, never a 4xx", async (_label, fields) => {
    const body = { timestamp: Math.floor(Date.now() / 1000), ...fields };
    const signed = signWebhook(body, SECRET);
    const response = await deliver(signed.rawBody, signed.headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ignored" });
    expect(await (await deliver(signed.rawBody, signed.headers)).json()).toEqual({ status: "duplicate" });
    const db = new pg.Client({ connectionString: partnerA.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(
        "select webhook_type, applied from webhook_events where event_id = $1",
        [webhookEventKey(body)],
      );
      expect(rows).toEqual([{ webhook_type: fields.webhook_type, applied: "ignored" }]);
    } finally {
      await db.end();
    }
  });

  it("never lets an older event overwrite a newer status", async () => {
    const { userId, sessionId } = await newSession();
    const now = Math.floor(Date.now() / 1000);
    const newer = signWebhook(event(sessionId, userId, "Approved", now), SECRET);
    const older = signWebhook(event(sessionId, userId, "In Progress", now - 30), SECRET);
    expect(await (await deliver(newer.rawBody, newer.headers)).json()).toEqual({ status: "applied" });
    expect(await (await deliver(older.rawBody, older.headers)).json()).toEqual({ status: "superseded" });
    expect(await statusOf(userId)).toBe("Approved");
  });

  it("answers 400 malformed_webhook for a signed body that is not a Didit event", async () => {
    const raw = JSON.stringify({ hello: "world", timestamp: Math.floor(Date.now() / 1000) });
    const { createHmac } = await import("node:crypto");
    const signature = createHmac("sha256", SECRET).update(raw).digest("hex");
    const response = await deliver(raw, { "x-signature": signature, "x-signature-v2": signature });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("malformed_webhook");
  });

  it("answers 404 verification_not_found for a user without a session", async () => {
    const missing = await partnerA.call("GET", "/v1/users/nobody-at-all/verification");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("verification_not_found");
  });
});
