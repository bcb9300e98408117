export type * from "./api-types.js";
export {
  type CanonicalJsonOptions,
  canonicalJson,
  type JsonValue,
  shorten,
} from "./canonical-json.js";
export { DIDIT_PRODUCTION_BASE_URL, DiditClient, type DiditClientOptions } from "./client.js";
export {
  DiditAuthError,
  DiditError,
  type DiditErrorDetails,
  DiditForbiddenError,
  DiditNotFoundError,
  DiditRateLimitError,
  DiditUnavailableError,
  DiditValidationError,
  type FieldErrors,
} from "./errors.js";
export { type HttpAnswer, upstreamFailureAnswer, webhookRejectionAnswer } from "./http-answers.js";
export {
  decodeShareTokenClaims,
  isShareTokenExpired,
  type ShareTokenClaims,
  type ShareTokenDecoding,
  shareTokenId,
} from "./share-token.js";
export {
  type FinishedStatus,
  isFinished,
  isReusableByCreate,
  isSessionStatus,
  isShareable,
  type ReusableByCreateStatus,
  SESSION_STATUSES,
  SessionStatus,
  SHAREABLE_STATUSES,
  type UpdatableSessionStatus,
} from "./status.js";
export {
  type SignedWebhook,
  signWebhook,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookHeaders,
  type WebhookRejectionReason,
  type WebhookVerification,
} from "./webhook.js";
export {
  isSessionEvent,
  type SessionWebhookEvent,
  type WebhookEvent,
  type WebhookType,
  webhookEventKey,
  webhookSessionId,
} from "./webhook-event.js";
