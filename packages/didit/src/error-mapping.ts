import {
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

/** Values that must never reach an error message: the API key, and the share token of an import call. */
export type SecretValues = readonly string[];

const REDACTED = "[redacted]";
// A JWT-shaped run (base64url header starting `{"`, payload, signature): share tokens are JWTs, and a body
// that echoes one back (e.g. a field error quoting the input) must not carry it into logs.
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const MAX_TEXT_LENGTH = 500;

export function redactSecrets(text: string, secrets: SecretValues): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(JWT_SHAPED, REDACTED);
  return out.length > MAX_TEXT_LENGTH ? `${out.slice(0, MAX_TEXT_LENGTH)}…` : out;
}

/**
 * Flattens DRF-style field errors (`{"field": ["msg"]}`, nested serializers as objects or lists) into
 * dotted paths. Top-level scalars such as `detail`, `message` or `code` are not field errors.
 */
export function flattenFieldErrors(body: unknown, secrets: SecretValues): FieldErrors {
  // A Map, not an object literal, so a field named "__proto__" stays a field.
  const fields = new Map<string, string[]>();
  if (isRecord(body)) {
    for (const [key, value] of Object.entries(body)) {
      if (key === "detail" || key === "message") continue;
      if (Array.isArray(value) || isRecord(value)) collectMessages(key, value, fields, secrets);
    }
  }
  return Object.fromEntries(fields);
}

function collectMessages(
  path: string,
  value: unknown,
  into: Map<string, string[]>,
  secrets: SecretValues,
): void {
  if (typeof value === "string") {
    into.set(path, [...(into.get(path) ?? []), redactSecrets(value, secrets)]);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      // A list of strings is one field's messages; a list of objects is a list serializer, one entry per item.
      collectMessages(typeof item === "string" ? path : `${path}.${index}`, item, into, secrets);
    });
  } else if (isRecord(value)) {
    for (const [key, nested] of Object.entries(value))
      collectMessages(`${path}.${key}`, nested, into, secrets);
  }
}

/** `detail`, then `message` (as other Didit clients read), then the flattened field errors. */
export function describeErrorBody(body: unknown, fields: FieldErrors, secrets: SecretValues): string | null {
  if (isRecord(body)) {
    for (const key of ["detail", "message"]) {
      const value = body[key];
      if (typeof value === "string" && value.length > 0) return redactSecrets(value, secrets);
    }
  }
  const parts = Object.entries(fields).map(([field, messages]) => `${field}: ${messages.join(" ")}`);
  return parts.length > 0 ? parts.join("; ") : null;
}

export interface FailedResponse {
  operation: string;
  status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON (its text is never used). */
  body: unknown;
  retryAfterSeconds: number | null;
  secrets: SecretValues;
}

/** Maps a non-2xx response to its error class by HTTP status alone. */
export function errorFromResponse(response: FailedResponse): DiditError {
  const fieldErrors = flattenFieldErrors(response.body, response.secrets);
  const details: DiditErrorDetails = {
    status: response.status,
    operation: response.operation,
    detail: describeErrorBody(response.body, fieldErrors, response.secrets) ?? `HTTP ${response.status}`,
    fieldErrors: Object.keys(fieldErrors).length > 0 ? fieldErrors : undefined,
  };
  const { status } = response;
  if (status === 400) return new DiditValidationError(details);
  if (status === 401) return new DiditAuthError(details);
  if (status === 403) return new DiditForbiddenError(details);
  if (status === 404) return new DiditNotFoundError(details);
  if (status === 429)
    return new DiditRateLimitError({ ...details, retryAfterSeconds: response.retryAfterSeconds });
  if (status === 408 || status >= 500) return new DiditUnavailableError(details);
  return new DiditError(details);
}

/** A request that got no usable response; the cause is kept for debugging (undici errors hold no request data). */
export function errorFromTransport(operation: string, cause: unknown, timedOut: boolean, timeoutMs: number) {
  const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
  const detail = timedOut
    ? `no response within ${timeoutMs} ms`
    : `network error${code === undefined ? "" : ` (${code})`}`;
  return new DiditUnavailableError({ status: null, operation, detail, cause });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
