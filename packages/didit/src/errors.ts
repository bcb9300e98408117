/**
 * Errors raised by `DiditClient`. Callers branch on the class (or `retryable`), never on message text:
 * Didit publishes no error schema, so the HTTP status is the only stable signal (docs/DIDIT.md#base-facts).
 *
 * Nothing here ever holds a request body, the API key or a share token; messages are built from the
 * response body only, after `redactSecrets` (see error-mapping.ts).
 */

export type FieldErrors = Record<string, string[]>;

export interface DiditErrorDetails {
  /** HTTP status, or null when no response arrived (network error, timeout). */
  status: number | null;
  /** Client operation that failed, e.g. "importSharedSession"; safe for logs. */
  operation: string;
  /** Human-readable reason taken from the response body (`detail`, `message`, or flattened field errors). */
  detail: string;
  fieldErrors?: FieldErrors | undefined;
  cause?: unknown;
}

export class DiditError extends Error {
  override readonly name: string = "DiditError";
  readonly status: number | null;
  readonly operation: string;
  readonly detail: string;
  readonly fieldErrors: FieldErrors | undefined;
  /** True only when the same request may succeed later (rate limit, outage); false means fix the input. */
  readonly retryable: boolean = false;

  constructor(details: DiditErrorDetails) {
    const where = details.status === null ? "no response" : `HTTP ${details.status}`;
    super(
      `Didit ${details.operation} failed (${where}): ${details.detail}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.status = details.status;
    this.operation = details.operation;
    this.detail = details.detail;
    this.fieldErrors = details.fieldErrors;
  }
}

/** 401: API key missing, invalid or revoked; on import-shared also a malformed, forged or expired share token. */
export class DiditAuthError extends DiditError {
  override readonly name = "DiditAuthError";
}

/** 403: no access, insufficient credits, token addressed to another application, or session already imported. */
export class DiditForbiddenError extends DiditError {
  override readonly name = "DiditForbiddenError";
}

/** 404: unknown or foreign session, deleted source session, or unknown workflow. */
export class DiditNotFoundError extends DiditError {
  override readonly name = "DiditNotFoundError";
}

/** 400: the request was understood and refused; `fields` is empty when Didit gave only a `detail`. */
export class DiditValidationError extends DiditError {
  override readonly name = "DiditValidationError";
  readonly fields: FieldErrors;

  constructor(details: DiditErrorDetails) {
    super(details);
    this.fields = details.fieldErrors ?? {};
  }
}

/** 429: a per-key rate window is full. */
export class DiditRateLimitError extends DiditError {
  override readonly name = "DiditRateLimitError";
  override readonly retryable = true;
  /**
   * From `Retry-After`; null when Didit sent none (then back off 5, 10, 20, 40 s: docs/DIDIT.md#rate-limits).
   */
  readonly retryAfterSeconds: number | null;

  constructor(details: DiditErrorDetails & { retryAfterSeconds: number | null }) {
    super(details);
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** 5xx, 408, a network failure or a timeout: the outcome is unknown, so only idempotent calls may be repeated. */
export class DiditUnavailableError extends DiditError {
  override readonly name = "DiditUnavailableError";
  override readonly retryable = true;
}
