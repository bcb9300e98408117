import type { ErrorCodeValue } from "@share-broker/contracts";
import { DiditError, DiditRateLimitError } from "./errors.js";
import type { WebhookRejectionReason } from "./webhook.js";

/** How a service answers its own caller; plain data, so any HTTP framework can use it. */
export interface HttpAnswer {
  status: number;
  code: ErrorCodeValue;
  message: string;
  retryAfterSeconds?: number;
}

const WEBHOOK_ANSWERS: Record<WebhookRejectionReason, HttpAnswer> = {
  missing_signature: { status: 401, code: "invalid_signature", message: "The webhook signature is missing." },
  invalid_signature: {
    status: 401,
    code: "invalid_signature",
    message: "The webhook signature does not match.",
  },
  stale_timestamp: {
    status: 401,
    code: "stale_webhook",
    message: "The webhook timestamp is outside the 300 s window.",
  },
  malformed_body: {
    status: 400,
    code: "malformed_webhook",
    message: "The webhook body is not a Didit event.",
  },
};

/** The answer to a Didit webhook that failed verification. */
export function webhookRejectionAnswer(reason: WebhookRejectionReason): HttpAnswer {
  return WEBHOOK_ANSWERS[reason];
}

/**
 * The answer to a caller whose request needed Didit and Didit failed: 503 when retrying later can
 * help (with Didit's Retry-After), 502 otherwise. Undefined for errors that are not Didit's.
 */
export function upstreamFailureAnswer(error: unknown): HttpAnswer | undefined {
  if (!(error instanceof DiditError)) return undefined;
  if (error.retryable) {
    const retryAfter = error instanceof DiditRateLimitError ? error.retryAfterSeconds : null;
    return {
      status: 503,
      code: "didit_unavailable",
      message: "Didit is unavailable; retry later.",
      ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}),
    };
  }
  return {
    status: 502,
    code: "didit_rejected",
    message: `Didit refused the call (HTTP ${error.status ?? "none"}).`,
  };
}
