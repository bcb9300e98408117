import { timingSafeEqual } from "node:crypto";
import { isPlainObject } from "./canonical-json.js";
import type { WebhookEvent } from "./webhook-event.js";
import {
  hmacSha256Hex,
  pythonStr,
  signatureSimple,
  signatureV2,
  webhookRawBody,
} from "./webhook-signature.js";

/**
 * Didit's documented freshness window, checked against the signed body `timestamp` (docs/DIDIT.md#webhooks).
 */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export interface SignedWebhook {
  /** What goes on the wire: canonical, ASCII-escaped JSON, as Didit sends it. */
  rawBody: string;
  headers: {
    "x-signature": string;
    "x-signature-v2": string;
    "x-signature-simple": string;
    /** String(body.timestamp); informational only, a verifier must not trust it. */
    "x-timestamp": string;
  };
}

/**
 * Signs a webhook body the way Didit does. Throws TypeError for values JSON cannot carry (functions,
 * NaN, class instances), since signing them would sign something other than what is sent.
 */
export function signWebhook(body: object, secret: string): SignedWebhook {
  const rawBody = webhookRawBody(body);
  return {
    rawBody,
    headers: {
      "x-signature": hmacSha256Hex(secret, rawBody),
      "x-signature-v2": signatureV2(body, secret),
      "x-signature-simple": signatureSimple(body, secret),
      "x-timestamp": pythonStr((body as Record<string, unknown>).timestamp),
    },
  };
}

export type WebhookRejectionReason =
  /** Not UTF-8 JSON of an object with an integer `timestamp` and a string `webhook_type` (and `event_id`, if any). */
  | "malformed_body"
  /** Neither X-Signature-V2 nor X-Signature was sent. */
  | "missing_signature"
  /** No signature header matched, one was malformed, or one was sent more than once. */
  | "invalid_signature"
  /** Authentic, but `timestamp` is more than 300 s away from now: a replay or a badly skewed clock. */
  | "stale_timestamp";

export type WebhookVerification =
  | { ok: true; event: WebhookEvent; verifiedBy: "x-signature-v2" | "x-signature" }
  | { ok: false; reason: WebhookRejectionReason };

export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

const HEX_DIGEST = /^[0-9a-f]{64}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies a Didit webhook delivery. Never throws: every failure is a `reason`.
 *
 * X-Signature-V2 is checked first; X-Signature (HMAC of the untouched raw bytes) is the fallback when V2
 * is absent or does not match. X-Signature-Simple is never accepted (it leaves metadata and decision
 * unsigned). Pass the raw body as received, before any JSON parser touched it.
 */
export function verifyWebhook(
  rawBody: Buffer | string,
  headers: WebhookHeaders,
  secret: string,
  nowSeconds: number,
): WebhookVerification {
  try {
    return verify(
      typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody,
      headers,
      secret,
      nowSeconds,
    );
  } catch {
    // Defence in depth (e.g. a hostile nesting depth exhausting the stack): a verifier that throws
    // turns bad input into a 500 and a retry storm instead of a clean rejection.
    return { ok: false, reason: "malformed_body" };
  }
}

function verify(
  raw: Buffer,
  headers: WebhookHeaders,
  secret: string,
  nowSeconds: number,
): WebhookVerification {
  const v2 = readSingleHeader(headers, "x-signature-v2");
  const v1 = readSingleHeader(headers, "x-signature");
  if (v2 === DUPLICATE || v1 === DUPLICATE) return reject("invalid_signature");
  if (v2 === undefined && v1 === undefined) return reject("missing_signature");

  const body = parseBody(raw);
  if (body === undefined) return reject("malformed_body");

  let verifiedBy: "x-signature-v2" | "x-signature";
  if (v2 !== undefined && digestMatches(v2, () => signatureV2(body, secret))) verifiedBy = "x-signature-v2";
  else if (v1 !== undefined && digestMatches(v1, () => hmacSha256Hex(secret, raw)))
    verifiedBy = "x-signature";
  else return reject("invalid_signature");

  if (!isEventShaped(body)) return reject("malformed_body");
  if (Math.abs(nowSeconds - body.timestamp) > WEBHOOK_TOLERANCE_SECONDS) return reject("stale_timestamp");
  return { ok: true, event: body, verifiedBy };
}

const DUPLICATE = Symbol("duplicate header");

/** Case-insensitive; a header sent twice (array value, or two spellings) counts as DUPLICATE, never as either value. */
function readSingleHeader(headers: WebhookHeaders, name: string): string | typeof DUPLICATE | undefined {
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || key.toLowerCase() !== name) continue;
    if (typeof value !== "string" || found !== undefined) return DUPLICATE;
    found = value;
  }
  return found;
}

function parseBody(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(utf8.decode(raw));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function digestMatches(received: string, expected: () => string): boolean {
  // The shape check comes first: timingSafeEqual throws on unequal lengths (docs/DIDIT.md#traps).
  if (!HEX_DIGEST.test(received)) return false;
  let digest: string;
  try {
    digest = expected();
  } catch {
    // A body this serializer refuses (e.g. 1e400 parsed to Infinity) cannot match a V2 digest.
    return false;
  }
  return timingSafeEqual(Buffer.from(received, "utf8"), Buffer.from(digest, "utf8"));
}

function isEventShaped(body: Record<string, unknown>): body is WebhookEvent {
  return (
    Number.isInteger(body.timestamp) &&
    (body.event_id === undefined || typeof body.event_id === "string") &&
    typeof body.webhook_type === "string"
  );
}

function reject(reason: WebhookRejectionReason): WebhookVerification {
  return { ok: false, reason };
}
