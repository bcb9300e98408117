import { randomUUID } from "node:crypto";
import { signWebhook } from "@share-broker/didit";
import type { Logger } from "@share-broker/service-kit";
import { Agent, request } from "undici";
import type { SandboxApplication } from "../applications.js";
import { isoSeconds, type SandboxClock } from "../clock.js";
import type { ClockScheduler } from "../scheduler.js";
import type { PendingWebhookEvent } from "./status-event.js";

export const WEBHOOK_USER_AGENT = "DiditWebhook/2.0 +https://didit.me";

export interface DeliveryAttempt {
  attempt: number;
  /** Sandbox time, ISO 8601. */
  started_at: string;
  /** The signed body `timestamp` (and X-Timestamp) of this attempt. */
  timestamp: number;
  status_code: number | null;
  error: string | null;
  ok: boolean;
  duration_ms: number;
}

export interface WebhookDelivery {
  delivery_id: string;
  event_id: string;
  webhook_type: string;
  session_id: string;
  application_id: string;
  session_status: string;
  url: string;
  state: "pending" | "delivered" | "failed";
  created_at: string;
  next_attempt_at: string | null;
  attempts: DeliveryAttempt[];
}

export interface WebhookDispatcherOptions {
  clock: SandboxClock;
  scheduler: ClockScheduler;
  logger: Logger;
  /** Sandbox-time waits before each retry: [after the first attempt, after the first retry, …]. */
  retryDelaysMs: readonly number[];
  timeoutMs: number;
}

/**
 * Signed webhook delivery with Didit's retry schedule (docs/DIDIT.md#what-the-sandbox-assumes): success is a
 * 2xx within the timeout; every attempt keeps the event_id but is re-signed with a fresh timestamp.
 */
/** Deliveries on the wire at once (and connections per receiver). */
const MAX_CONCURRENT_DELIVERIES = 16;

export class WebhookDispatcher {
  readonly #options: WebhookDispatcherOptions;
  #deliveries: WebhookDelivery[] = [];
  // Bumped by reset, so answers of attempts started before it are dropped.
  #generation = 0;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  // Keep-alive connections, a bounded number per receiver, each answer read to its end so its
  // connection is reused: a burst of deliveries must not leave hundreds of sockets open at the
  // receiver (as fetch did, whose cancelled bodies kept every connection from being reused).
  readonly #agent = new Agent({ connections: MAX_CONCURRENT_DELIVERIES, keepAliveTimeout: 10_000 });
  // Attempts beyond the agent's connections wait here, before their clock starts: a burst queues
  // instead of timing out while waiting for a connection.
  #free = MAX_CONCURRENT_DELIVERIES;
  readonly #waiting: Array<() => void> = [];

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
  }

  /** Starts delivering `event` to the application's webhook URL; no URL, no delivery. */
  dispatch(application: SandboxApplication, event: PendingWebhookEvent): WebhookDelivery | undefined {
    if (!application.webhook_url || this.#closing.signal.aborted) return undefined;
    const delivery: WebhookDelivery = {
      delivery_id: randomUUID(),
      event_id: event.event_id,
      webhook_type: String(event.webhook_type),
      session_id: event.session_id,
      application_id: application.application_id,
      session_status: String(event.status),
      url: application.webhook_url,
      state: "pending",
      created_at: this.#options.clock.isoNow(),
      next_attempt_at: this.#options.clock.isoNow(),
      attempts: [],
    };
    this.#deliveries.push(delivery);
    this.#track(this.#attempt(delivery, application, event, this.#generation));
    return delivery;
  }

  list(sessionId?: string): WebhookDelivery[] {
    return structuredClone(
      this.#deliveries.filter((delivery) => sessionId === undefined || delivery.session_id === sessionId),
    );
  }

  reset(): void {
    this.#generation += 1;
    this.#deliveries = [];
  }

  /** Graceful shutdown: abandons attempts on the wire and schedules no more. */
  async close(): Promise<void> {
    this.#generation += 1;
    this.#closing.abort();
    await Promise.allSettled([...this.#inFlight]);
    await this.#agent.destroy();
  }

  #track(attempt: Promise<void>): void {
    this.#inFlight.add(attempt);
    void attempt.finally(() => this.#inFlight.delete(attempt));
  }

  async #attempt(
    delivery: WebhookDelivery,
    application: SandboxApplication,
    event: PendingWebhookEvent,
    generation: number,
  ): Promise<void> {
    await this.#slot();
    try {
      await this.#attemptNow(delivery, application, event, generation);
    } finally {
      this.#release();
    }
  }

  async #slot(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free += 1;
  }

  async #attemptNow(
    delivery: WebhookDelivery,
    application: SandboxApplication,
    event: PendingWebhookEvent,
    generation: number,
  ): Promise<void> {
    if (this.#closing.signal.aborted) return;
    const { clock, scheduler, logger, retryDelaysMs, timeoutMs } = this.#options;
    const body = { ...event, timestamp: clock.nowSeconds() };
    const signed = signWebhook(body, application.webhook_secret);
    const startedAt = clock.now();
    const realStart = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      // undici's request follows no redirects: a 3xx is an answer, not a success.
      const response = await request(delivery.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": WEBHOOK_USER_AGENT, ...signed.headers },
        body: signed.rawBody,
        dispatcher: this.#agent,
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#closing.signal]),
      });
      statusCode = response.statusCode;
      await response.body.dump();
    } catch (cause) {
      error = describeFailure(cause, timeoutMs);
    }
    if (generation !== this.#generation) return;
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    delivery.attempts.push({
      attempt: delivery.attempts.length + 1,
      started_at: isoSeconds(startedAt),
      timestamp: body.timestamp,
      status_code: statusCode,
      error: error ?? (ok ? null : `HTTP ${statusCode}`),
      ok,
      duration_ms: Math.round(performance.now() - realStart),
    });
    const retryIndex = delivery.attempts.length - 1;
    const log = {
      event_id: delivery.event_id,
      session_id: delivery.session_id,
      attempt: delivery.attempts.length,
    };
    if (ok) {
      delivery.state = "delivered";
      delivery.next_attempt_at = null;
      logger.info({ ...log, status_code: statusCode }, "webhook delivered");
      return;
    }
    const delay = retryDelaysMs[retryIndex];
    if (delay === undefined) {
      delivery.state = "failed";
      delivery.next_attempt_at = null;
      logger.warn({ ...log, status_code: statusCode, error }, "webhook delivery failed; no retries left");
      return;
    }
    const dueMs = clock.now() + delay;
    delivery.next_attempt_at = isoSeconds(dueMs);
    logger.info({ ...log, status_code: statusCode, error, retry_in_ms: delay }, "webhook attempt failed");
    scheduler.at(dueMs, () => {
      if (generation === this.#generation)
        this.#track(this.#attempt(delivery, application, event, generation));
    });
  }
}

function describeFailure(cause: unknown, timeoutMs: number): string {
  if (cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = [cause, cause instanceof Error ? cause.cause : undefined]
    .map((error) => (error as { code?: unknown } | undefined)?.code)
    .find((value) => typeof value === "string");
  return code ? `connection failed (${code})` : "connection failed";
}
