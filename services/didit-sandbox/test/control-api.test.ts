import { DiditNotFoundError } from "@share-broker/didit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { APP_A, APP_B, CONTROL_KEY, finishedSession, jsonOf, type Sandbox, startSandbox } from "./helpers.js";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});

const ROUTES: [string, string][] = [
  ["POST", "/sandbox/sessions/00000000-0000-4000-8000-000000000000/complete"],
  ["GET", "/sandbox/sessions/00000000-0000-4000-8000-000000000000"],
  ["GET", "/sandbox/webhook-deliveries"],
  ["GET", "/sandbox/faults"],
  ["POST", "/sandbox/faults"],
  ["DELETE", "/sandbox/faults"],
  ["GET", "/sandbox/clock"],
  ["POST", "/sandbox/clock"],
  ["DELETE", "/sandbox/clock"],
  ["POST", "/sandbox/reset"],
];

it("answers 401 on every control route without the Bearer control key", async () => {
  for (const [method, path] of ROUTES) {
    for (const authorization of [
      undefined,
      "Bearer wrong-control-key-000000",
      APP_A.apiKey,
      `Bearer ${APP_A.apiKey}`,
    ]) {
      const response = await fetch(`${sandbox.url}${path}`, {
        method,
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(response.status, `${method} ${path} with ${authorization ?? "nothing"}`).toBe(401);
      expect((await jsonOf<{ error: { code: string } }>(response)).error.code).toBe("unauthenticated");
    }
    const withApiKey = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { "x-api-key": APP_A.apiKey },
    });
    expect(withApiKey.status).toBe(401);
  }
  const allowed = await fetch(`${sandbox.url}/sandbox/clock`, {
    headers: { authorization: `Bearer ${CONTROL_KEY}` },
  });
  expect(allowed.status).toBe(200);
});

it("moves the clock forward only, and reports it", async () => {
  await sandbox.reset();
  const before = await sandbox.control<{ offset_seconds: number; now_epoch_seconds: number }>(
    "GET",
    "/clock",
  );
  expect(before.body.offset_seconds).toBe(0);
  const after = await sandbox.control<{ offset_seconds: number; now_epoch_seconds: number }>(
    "POST",
    "/clock",
    {
      advance_seconds: 3600,
    },
  );
  expect(after.body.offset_seconds).toBe(3600);
  expect(after.body.now_epoch_seconds - before.body.now_epoch_seconds).toBeGreaterThanOrEqual(3600);
  const backwards = await sandbox.control<{ error: { code: string } }>("POST", "/clock", {
    advance_seconds: -5,
  });
  expect(backwards.status).toBe(400);
  expect(backwards.body.error.code).toBe("validation_failed");
});

it("puts the clock back to real time on DELETE /sandbox/clock, keeping sessions and faults", async () => {
  await sandbox.reset();
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  await sandbox.control("POST", "/faults", { path: "/v3/sessions/", status: 503 });
  await sandbox.control("POST", "/clock", { advance_seconds: 1000 });

  const reset = await sandbox.control<{ offset_seconds: number; now_epoch_seconds: number }>(
    "DELETE",
    "/clock",
  );
  expect(reset.status).toBe(200);
  expect(reset.body.offset_seconds).toBe(0);
  expect(Math.abs(reset.body.now_epoch_seconds - Date.now() / 1000)).toBeLessThan(5);
  expect((await sandbox.control<{ offset_seconds: number }>("GET", "/clock")).body.offset_seconds).toBe(0);
  expect((await sandbox.client(APP_A.apiKey).getDecision(sessionId)).status).toBe("Approved");
  expect((await sandbox.control<{ faults: unknown[] }>("GET", "/faults")).body.faults).toHaveLength(1);
  expect((await sandbox.control("DELETE", "/clock")).status).toBe(200);
});

it("completes a session with a chosen status and decision blocks, and validates the request", async () => {
  await sandbox.reset();
  const created = await sandbox.client(APP_A.apiKey).createSession({ workflow_id: APP_A.kyc });
  const custom = [
    { node_id: "feature_aml_1", status: "In Review", total_hits: 2, hits: [{ name: "Someone" }] },
  ];
  const completed = await sandbox.control<{ status: string; previous_status: string }>(
    "POST",
    `/sessions/${created.session_id}/complete`,
    { status: "In Review", decision: { aml_screenings: custom } },
  );
  expect(completed.status).toBe(200);
  expect(completed.body).toMatchObject({ status: "In Review", previous_status: "Not Started" });
  const decision = await sandbox.client(APP_A.apiKey).getDecision(created.session_id);
  expect(decision.aml_screenings).toEqual(custom);
  expect(decision.id_verifications?.[0]?.first_name).toEqual(expect.any(String));

  const badStatus = await sandbox.control("POST", `/sessions/${created.session_id}/complete`, {
    status: "IN_REVIEW",
  });
  expect(badStatus.status).toBe(400);
  const badBlock = await sandbox.control("POST", `/sessions/${created.session_id}/complete`, {
    status: "Approved",
    decision: { kyc: {} },
  });
  expect(badBlock.status).toBe(400);
  const unknown = await sandbox.control("POST", "/sessions/00000000-0000-4000-8000-000000000000/complete", {
    status: "Approved",
  });
  expect(unknown.status).toBe(404);
});

it("resets sessions, imports, faults, deliveries and the clock offset", async () => {
  await sandbox.reset();
  const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  const { share_token } = await sandbox
    .client(APP_A.apiKey)
    .shareSession(sourceId, { for_application_id: APP_B.id });
  await sandbox
    .client(APP_B.apiKey)
    .importSharedSession({ share_token, workflow_id: APP_B.kyc, trust_review: true });
  await sandbox.control("POST", "/faults", { path: "/v3/sessions/", status: 500 });
  await sandbox.control("POST", "/clock", { advance_seconds: 100 });

  await sandbox.reset();
  await expect(sandbox.client(APP_A.apiKey).getDecision(sourceId)).rejects.toBeInstanceOf(DiditNotFoundError);
  expect((await sandbox.client(APP_B.apiKey).listSessions()).count).toBe(0);
  expect((await sandbox.control<{ faults: unknown[] }>("GET", "/faults")).body.faults).toEqual([]);
  expect(
    (await sandbox.control<{ deliveries: unknown[] }>("GET", "/webhook-deliveries")).body.deliveries,
  ).toEqual([]);
  expect((await sandbox.control<{ offset_seconds: number }>("GET", "/clock")).body.offset_seconds).toBe(0);
});

it("rejects a fault without a status or latency, and removes one fault by id", async () => {
  await sandbox.reset();
  expect((await sandbox.control("POST", "/faults", { path: "/v3/sessions/" })).status).toBe(400);
  expect(
    (await sandbox.control("POST", "/faults", { path: "/v3/sessions/", status: 503, failure_rate: 2 }))
      .status,
  ).toBe(400);
  const added = await sandbox.control<{ fault_id: string }>("POST", "/faults", {
    path: "/v3/sessions/",
    status: 503,
  });
  expect((await sandbox.api("GET", "/v3/sessions/")).status).toBe(503);
  expect((await sandbox.control("DELETE", `/faults/${added.body.fault_id}`)).status).toBe(204);
  expect((await sandbox.api("GET", "/v3/sessions/")).status).toBe(200);
  expect((await sandbox.control("DELETE", `/faults/${added.body.fault_id}`)).status).toBe(404);
});
