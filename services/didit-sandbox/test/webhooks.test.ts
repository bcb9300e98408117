import { verifyWebhook, type WebhookEvent } from "@share-broker/didit";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import {
  ALL_SECRETS,
  APP_A,
  APP_B,
  finishedSession,
  type Sandbox,
  startSandboxWithWebhooks,
} from "./helpers.js";
import type { ReceivedWebhook, WebhookReceiver } from "./webhook-receiver.js";

let receiver: WebhookReceiver;
let sandbox: Sandbox;
const shareTokensSeen: string[] = [];

// Retries after 1 s and 2 s instead of 60 s and 240 s; a receiver has 500 ms to answer.
const RETRY_DELAYS_MS = [1_000, 2_000];

beforeAll(async () => {
  ({ receiver, sandbox } = await startSandboxWithWebhooks({
    SANDBOX_WEBHOOK_RETRY_DELAYS_MS: RETRY_DELAYS_MS.join(","),
    SANDBOX_WEBHOOK_TIMEOUT_MS: "500",
    LOG_LEVEL: "trace",
  }));
});
afterAll(async () => {
  await sandbox?.stop();
  await receiver?.close();
});
beforeEach(async () => {
  await sandbox.reset();
  receiver.clear();
});

async function sandboxNow(): Promise<number> {
  return (await sandbox.control<{ now_epoch_seconds: number }>("GET", "/clock")).body.now_epoch_seconds;
}

async function verified(
  request: ReceivedWebhook,
  secret: string = APP_A.webhookSecret,
): Promise<WebhookEvent> {
  const result = verifyWebhook(
    request.rawBody,
    request.headers as Record<string, string>,
    secret,
    await sandboxNow(),
  );
  if (!result.ok) throw new Error(`webhook rejected: ${result.reason}`);
  return result.event;
}

async function waitForRequests(path: string, count: number, timeout = 5_000): Promise<ReceivedWebhook[]> {
  await expect.poll(() => receiver.for(path).length, { timeout }).toBeGreaterThanOrEqual(count);
  return receiver.for(path);
}

interface DeliveryView {
  event_id: string;
  state: string;
  attempts: { status_code: number | null; ok: boolean; timestamp: number; error: string | null }[];
}

async function deliveriesOf(sessionId: string): Promise<DeliveryView[]> {
  const { body } = await sandbox.control<{ deliveries: DeliveryView[] }>(
    "GET",
    `/webhook-deliveries?session_id=${sessionId}`,
  );
  return body.deliveries;
}

it("delivers a status change as a signed webhook that verifyWebhook accepts", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved", "user-42");
  const [request] = await waitForRequests("/a", 1);
  if (!request) throw new Error("no webhook");
  const event = await verified(request);
  expect(event).toMatchObject({
    webhook_type: "status.updated",
    session_id: sessionId,
    status: "Approved",
    application_id: APP_A.id,
    environment: "live",
    vendor_data: "user-42",
    workflow_id: APP_A.kyc,
    workflow_version: 1,
  });
  expect(Object.keys(event).sort()).toEqual(
    [
      "application_id",
      "created_at",
      "decision",
      "environment",
      "event_id",
      "metadata",
      "session_id",
      "status",
      "timestamp",
      "vendor_data",
      "webhook_type",
      "workflow_id",
      "workflow_version",
    ].sort(),
  );
  expect(event.decision).toMatchObject({ session_id: sessionId, status: "Approved" });
  expect(event.decision?.id_verifications?.[0]?.status).toBe("Approved");
  expect(request.headers["user-agent"]).toBe("DiditWebhook/2.0 +https://didit.me");
  expect(request.headers["content-type"]).toBe("application/json");
  expect(request.headers["x-timestamp"]).toBe(String(event.timestamp));
  expect(request.headers["x-signature-simple"]).toMatch(/^[0-9a-f]{64}$/);
  // The raw body is the ASCII-escaped canonical form, so X-Signature alone verifies it too.
  expect([...request.rawBody].every((byte) => byte < 0x80)).toBe(true);
  const { "x-signature-v2": _v2, ...withoutV2 } = request.headers;
  const byRaw = verifyWebhook(
    request.rawBody,
    withoutV2 as Record<string, string>,
    APP_A.webhookSecret,
    await sandboxNow(),
  );
  expect(byRaw.ok && byRaw.verifiedBy).toBe("x-signature");
  expect(
    verifyWebhook(
      request.rawBody,
      request.headers as Record<string, string>,
      APP_B.webhookSecret,
      await sandboxNow(),
    ).ok,
  ).toBe(false);

  await expect.poll(async () => (await deliveriesOf(sessionId))[0]?.state).toBe("delivered");
  const [delivery] = await deliveriesOf(sessionId);
  expect(delivery?.event_id).toBe(event.event_id);
  expect(delivery?.attempts).toMatchObject([{ status_code: 200, ok: true, timestamp: event.timestamp }]);
});

it("emits status.updated for update-status and for the hosted page's form", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "In Review");
  await sandbox.client(APP_A.apiKey).updateSessionStatus(sessionId, { new_status: "Declined" });
  const created = await sandbox.client(APP_A.apiKey).createSession({ workflow_id: APP_A.reusableKyc });
  const form = await fetch(created.url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "status=Approved",
  });
  expect(form.status).toBe(200);
  const requests = await waitForRequests("/a", 3);
  const events = await Promise.all(requests.map((request) => verified(request)));
  const summary = events.map((event) => [event.session_id, event.status]);
  expect(summary).toEqual(
    expect.arrayContaining([
      [sessionId, "In Review"],
      [sessionId, "Declined"],
      [created.session_id, "Approved"],
    ]),
  );
  expect(new Set(events.map((event) => event.event_id)).size).toBe(3);
});

it("adds session_kind and business_session_id to KYB events", async () => {
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyb, "Approved");
  const [request] = await waitForRequests("/a", 1);
  const event = await verified(request as ReceivedWebhook);
  expect(event).toMatchObject({
    session_kind: "business",
    business_session_id: sessionId,
    status: "Approved",
  });
});

it("retries a failed delivery after the first and second delay with the same event_id and fresh signatures", async () => {
  receiver.answerNext({ status: 503 }, { status: 500 });
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
  const requests = await waitForRequests("/a", 3, 10_000);
  const events = await Promise.all(requests.map((request) => verified(request)));
  expect(new Set(events.map((event) => event.event_id)).size).toBe(1);
  const [first, second, third] = requests as [ReceivedWebhook, ReceivedWebhook, ReceivedWebhook];
  expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual((RETRY_DELAYS_MS[0] as number) - 50);
  expect(third.receivedAt - second.receivedAt).toBeGreaterThanOrEqual((RETRY_DELAYS_MS[1] as number) - 50);
  // Re-signed per attempt: the timestamp moved, so the signatures did too.
  expect((events[2] as WebhookEvent).timestamp).toBeGreaterThan((events[0] as WebhookEvent).timestamp);
  expect(third.headers["x-signature-v2"]).not.toBe(first.headers["x-signature-v2"]);

  await expect.poll(async () => (await deliveriesOf(sessionId))[0]?.state).toBe("delivered");
  const [delivery] = await deliveriesOf(sessionId);
  expect(delivery?.attempts.map((attempt) => attempt.status_code)).toEqual([503, 500, 200]);
});

it("gives up after two retries, counting a redirect and a slow answer as failures", async () => {
  receiver.answerNext(
    { status: 302, headers: { location: "/elsewhere" } },
    { status: 200, delayMs: 1_500 },
    { status: 404 },
  );
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Declined");
  await expect
    .poll(async () => (await deliveriesOf(sessionId))[0]?.state, { timeout: 10_000 })
    .toBe("failed");
  const [delivery] = await deliveriesOf(sessionId);
  expect(delivery?.attempts.map((attempt) => attempt.status_code)).toEqual([302, null, 404]);
  expect(delivery?.attempts[1]?.error).toMatch(/no answer within 500 ms/);
  expect(receiver.for("/elsewhere")).toHaveLength(0);
});

it("retries on the sandbox clock: advancing it past the delay sends the retry at once", async () => {
  // After the second failure this process waits 2 s of sandbox time; moving the clock makes it due now.
  receiver.answerNext({ status: 500 }, { status: 500 });
  const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
  await expect
    .poll(async () => (await deliveriesOf(sessionId))[0]?.attempts.length, { timeout: 5_000 })
    .toBe(2);
  const secondFailureSeenAt = Date.now();
  await sandbox.control("POST", "/clock", { advance_seconds: 5 });
  await expect
    .poll(async () => (await deliveriesOf(sessionId))[0]?.state, { timeout: 1_500 })
    .toBe("delivered");
  expect(Date.now() - secondFailureSeenAt).toBeLessThan(1_500);
  const [delivery] = await deliveriesOf(sessionId);
  const timestamps = delivery?.attempts.map((attempt) => attempt.timestamp) ?? [];
  expect((timestamps[2] as number) - (timestamps[1] as number)).toBeGreaterThanOrEqual(5);
});

it("sends no webhook for an import", async () => {
  const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
  const { share_token } = await sandbox
    .client(APP_A.apiKey)
    .shareSession(sourceId, { for_application_id: APP_B.id });
  shareTokensSeen.push(share_token);
  const imported = await sandbox.client(APP_B.apiKey).importSharedSession({
    share_token,
    workflow_id: APP_B.kyc,
    trust_review: false,
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(receiver.for("/b")).toHaveLength(0);
  expect(await deliveriesOf(imported.session_id)).toEqual([]);
  // A later review decision on the copy does notify B.
  await sandbox.client(APP_B.apiKey).updateSessionStatus(imported.session_id, { new_status: "Approved" });
  const [request] = await waitForRequests("/b", 1);
  expect((await verified(request as ReceivedWebhook, APP_B.webhookSecret)).status).toBe("Approved");
});

it("never writes an API key, webhook secret, control key or share token to its logs", async () => {
  const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
  const { share_token } = await sandbox
    .client(APP_A.apiKey)
    .shareSession(sourceId, { for_application_id: APP_B.id });
  shareTokensSeen.push(share_token);
  await sandbox.api("POST", "/v3/session/import-shared/", {
    apiKey: APP_B.apiKey,
    body: { share_token, workflow_id: "not-a-uuid" },
  });
  await sandbox.api("GET", "/v3/sessions/", { apiKey: `${APP_A.apiKey}-wrong` });
  await waitForRequests("/a", 1);
  const output = sandbox.process.output();
  expect(output).toContain("incoming request");
  expect(output).toContain("webhook delivered");
  for (const secret of [...ALL_SECRETS, ...shareTokensSeen]) {
    expect(output.includes(secret), `a secret starting ${secret.slice(0, 8)} leaked`).toBe(false);
  }
});
