import { z } from "zod";

/**
 * Every error code a partner service answers with. Integrators branch on these, so a code is
 * never renamed; adding one is a contract change (regenerate docs/api/).
 */
export const ErrorCode = {
  // Any route (service-kit).
  validationFailed: "validation_failed",
  malformedJson: "malformed_json",
  unauthenticated: "unauthenticated",
  forbidden: "forbidden",
  insufficientScope: "insufficient_scope",
  notFound: "not_found",
  methodNotAllowed: "method_not_allowed",
  payloadTooLarge: "payload_too_large",
  unsupportedMediaType: "unsupported_media_type",
  rateLimited: "rate_limited",
  serviceUnavailable: "service_unavailable",
  internal: "internal_error",
  invalidCursor: "invalid_cursor",
  // partner-a.
  unknownAudience: "unknown_audience",
  consentNotFound: "consent_not_found",
  consentWithdrawn: "consent_withdrawn",
  consentExpired: "consent_expired",
  shareNotFound: "share_not_found",
  verificationNotFound: "verification_not_found",
  idempotencyKeyReused: "idempotency_key_reused",
  notShareable: "not_shareable",
  userNotFound: "user_not_found",
  // partner-b.
  importNotFound: "import_not_found",
  notInReview: "not_in_review",
  reviewPending: "review_pending",
  importInFlight: "import_in_flight",
  linkRequestNotFound: "link_request_not_found",
  unknownSource: "unknown_source",
  // Didit, as both partners relay it (webhooks in, API calls out).
  invalidSignature: "invalid_signature",
  staleWebhook: "stale_webhook",
  malformedWebhook: "malformed_webhook",
  diditUnavailable: "didit_unavailable",
  diditRejected: "didit_rejected",
  // The local console.
  forbiddenHost: "forbidden_host",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCodeValue, ...ErrorCodeValue[]];

/** The one error body of every 4xx and 5xx answer. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe(`A stable code: one of ${ERROR_CODES.join(", ")}.`),
      message: z.string().describe("What went wrong, for a human; never carries a secret or a token."),
      details: z.unknown().optional().describe("Per-field problems of a validation failure."),
    }),
  })
  .meta({
    id: "ErrorBody",
    examples: [
      {
        error: {
          code: "validation_failed",
          message: "body/consent_id: Invalid UUID",
          details: [{ path: "body/consent_id", message: "Invalid UUID" }],
        },
      },
    ],
  });

export type ErrorBody = z.infer<typeof errorBodySchema>;
