import { DiditRateLimitError } from "@share-broker/didit";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { APP_A, APP_B, finishedSession, rejectionOf, type Sandbox, startSandbox } from "./helpers.js";

let sandbox: Sandbox;

beforeAll(async () => {
  // Small limits so a test can fill a window; the defaults are Didit's (docs/DIDIT.md#rate-limits).
  sandbox = await startSandbox({ SANDBOX_RATE_LIMITS: "decision=3,write=2" });
});
afterAll(async () => {
  await sandbox?.stop();
});
beforeEach(async () => {
  await sandbox.reset();
});

it("answers 429 with X-RateLimit-* and Retry-After once a key fills its window", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  for (let i = 0; i < 3; i++) {
    const ok = await sandbox.api("GET", `/v3/session/${sessionId}/decision/`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-limit")).toBeNull();
  }
  const before = Math.floor(Date.now() / 1000);
  const throttled = await sandbox.api("GET", `/v3/session/${sessionId}/decision/`);
  expect(throttled.status).toBe(429);
  const retryAfter = Number(throttled.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(throttled.headers.get("x-ratelimit-limit")).toBe("3");
  expect(throttled.headers.get("x-ratelimit-remaining")).toBe("0");
  const reset = Number(throttled.headers.get("x-ratelimit-reset"));
  expect(reset).toBeGreaterThan(before);
  expect(reset).toBeLessThanOrEqual(before + 61);
  expect(await throttled.json()).toEqual({
    detail: `Request was throttled. Expected available in ${retryAfter} seconds.`,
  });
});

it("surfaces a 429 to the client as DiditRateLimitError with its retry-after", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  const client = sandbox.client(APP_A.apiKey);
  for (let i = 0; i < 2; i++) await client.shareSession(sessionId, { for_application_id: APP_B.id });
  const error = await rejectionOf(client.shareSession(sessionId, { for_application_id: APP_B.id }));
  expect(error).toBeInstanceOf(DiditRateLimitError);
  expect((error as DiditRateLimitError).retryAfterSeconds).toBeGreaterThan(0);
});

it("counts per API key and per scope, and frees the window after 60 s of sandbox time", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
  for (let i = 0; i < 3; i++) await sandbox.api("GET", `/v3/session/${sessionId}/decision/`);
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(429);
  // Another key has its own window; another scope of the same key too.
  expect((await sandbox.api("GET", "/v3/sessions/", { apiKey: APP_B.apiKey })).status).toBe(200);
  expect((await sandbox.api("GET", "/v3/sessions/")).status).toBe(200);
  await sandbox.control("POST", "/clock", { advance_seconds: 60 });
  expect((await sandbox.api("GET", `/v3/session/${sessionId}/decision/`)).status).toBe(200);
});
