import { afterAll, beforeAll, expect, it } from "vitest";
import { APP_A, finishedSession, type Sandbox, startSandboxWithWebhooks } from "./helpers.js";
import type { WebhookReceiver } from "./webhook-receiver.js";

// Its own sandbox and receiver: the burst's timing must not depend on the other webhook tests' short
// timeout (500 ms there, which a loaded CI machine can exceed for a genuine answer, and whose retries
// then reach the next test), and no retry of this burst can reach another test.
const TIMEOUT_MS = 2_000;
const ANSWER_DELAY_MS = 250;
const BURST = 160;
const CONNECTIONS = 16;

let receiver: WebhookReceiver;
let sandbox: Sandbox;

beforeAll(async () => {
  ({ receiver, sandbox } = await startSandboxWithWebhooks({
    SANDBOX_WEBHOOK_RETRY_DELAYS_MS: "1000,2000",
    SANDBOX_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  }));
});
afterAll(async () => {
  await sandbox?.stop();
  await receiver?.close();
});

it("delivers a burst of webhooks over a few reused keep-alive connections, queueing instead of timing out", async () => {
  // 160 answers of 250 ms over at most 16 connections take about 2.5 s, longer than an attempt may
  // take (2 s): an attempt whose clock started while it waited for a connection would time out. Each
  // answer itself leaves 1.75 s of the timeout, so a loaded machine does not time out real attempts.
  expect((BURST / CONNECTIONS) * ANSWER_DELAY_MS).toBeGreaterThan(TIMEOUT_MS);
  receiver.answerNext(...Array.from({ length: BURST }, () => ({ status: 200, delayMs: ANSWER_DELAY_MS })));
  const sessions = await Promise.all(
    Array.from({ length: BURST }, (_, index) =>
      finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved", `burst-${index}`),
    ),
  );
  await expect.poll(() => receiver.for("/a").length, { timeout: 20_000 }).toBeGreaterThanOrEqual(BURST);
  expect(receiver.for("/a")).toHaveLength(BURST);
  expect(receiver.connections).toBeGreaterThan(0);
  expect(receiver.connections).toBeLessThanOrEqual(CONNECTIONS);
  for (const sessionId of sessions) {
    // The last answers are recorded a moment after the receiver saw their requests.
    await expect
      .poll(async () => {
        const { body } = await sandbox.control<{ deliveries: { attempts: { ok: boolean }[] }[] }>(
          "GET",
          `/webhook-deliveries?session_id=${sessionId}`,
        );
        return body.deliveries.flatMap((delivery) => delivery.attempts.map((attempt) => attempt.ok));
      })
      .toEqual([true]);
  }
});
