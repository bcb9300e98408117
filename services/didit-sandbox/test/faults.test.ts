import {
  DiditRateLimitError,
  DiditUnavailableError,
  type ImportSharedSessionRequest,
} from "@share-broker/didit";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { APP_A, APP_B, finishedSession, rejectionOf, type Sandbox, startSandbox } from "./helpers.js";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});
beforeEach(async () => {
  await sandbox.reset();
});

const IMPORT_PATH = "/v3/session/import-shared/";

async function importRequest(vendorData = "b-user"): Promise<ImportSharedSessionRequest> {
  const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  const { share_token } = await sandbox
    .client(APP_A.apiKey)
    .shareSession(sourceId, { for_application_id: APP_B.id });
  return { share_token, workflow_id: APP_B.kyc, trust_review: true, vendor_data: vendorData };
}

it("makes a configured 503 on import reach the client as DiditUnavailableError, once", async () => {
  const request = await importRequest();
  const added = await sandbox.control("POST", "/faults", {
    method: "POST",
    path: IMPORT_PATH,
    status: 503,
    times: 1,
  });
  expect(added.status).toBe(201);
  const error = await rejectionOf(sandbox.client(APP_B.apiKey).importSharedSession(request));
  expect(error).toBeInstanceOf(DiditUnavailableError);
  expect((error as DiditUnavailableError).status).toBe(503);
  // The fault was used up, and the failed attempt had no effect.
  const imported = await sandbox.client(APP_B.apiKey).importSharedSession(request);
  expect(imported.status).toBe("Approved");
  const faults = await sandbox.control<{ faults: { applied: number }[] }>("GET", "/faults");
  expect(faults.body.faults[0]?.applied).toBe(1);
});

it("makes a configured delay on import a client timeout (DiditUnavailableError) while the import still lands", async () => {
  const request = await importRequest("b-lost-response");
  await sandbox.control("POST", "/faults", {
    method: "POST",
    path: IMPORT_PATH,
    latency_ms: 1_000,
    times: 1,
  });
  const error = await rejectionOf(
    sandbox.client(APP_B.apiKey, { timeoutMs: 200 }).importSharedSession(request),
  );
  expect(error).toBeInstanceOf(DiditUnavailableError);
  expect((error as DiditUnavailableError).status).toBeNull();
  // The response was lost, not the import: it shows up by vendor_data
  // (docs/DIDIT.md#import-a-shared-session).
  await expect
    .poll(
      async () => (await sandbox.client(APP_B.apiKey).listSessions({ vendor_data: "b-lost-response" })).count,
      {
        timeout: 5_000,
      },
    )
    .toBe(1);
});

it("makes a configured 429 reach the client as DiditRateLimitError with its Retry-After", async () => {
  const request = await importRequest();
  await sandbox.control("POST", "/faults", {
    method: "POST",
    path: IMPORT_PATH,
    status: 429,
    retry_after_seconds: 7,
    times: 1,
  });
  const error = await rejectionOf(sandbox.client(APP_B.apiKey).importSharedSession(request));
  expect(error).toBeInstanceOf(DiditRateLimitError);
  expect((error as DiditRateLimitError).retryAfterSeconds).toBe(7);
});

it("matches faults by method and * path patterns, honours failure_rate 0, and DELETE clears them", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  await sandbox.control("POST", "/faults", {
    method: "GET",
    path: "/v3/session/*/decision/",
    status: 500,
    failure_rate: 0,
  });
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(200);
  await sandbox.control("POST", "/faults", { method: "GET", path: "/v3/session/*/decision/", status: 502 });
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(502);
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(502);
  expect((await sandbox.api("GET", "/v3/sessions/")).status).toBe(200);
  expect((await sandbox.control("DELETE", "/faults")).status).toBe(204);
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(200);
});
