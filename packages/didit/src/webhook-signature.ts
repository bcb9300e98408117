import { createHmac } from "node:crypto";
import { canonicalJson, shorten } from "./canonical-json.js";

/**
 * Didit's three webhook digests (docs/DIDIT.md#webhooks, reproduced by the recorded vectors in
 * test/fixtures/). The secret is used as the UTF-8 bytes of the string, never base64-decoded.
 */

export function hmacSha256Hex(secret: string, message: string | Uint8Array): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(message).digest("hex");
}

/** The bytes Didit sends as the body: sorted keys, compact, ASCII-escaped. X-Signature is their HMAC. */
export function webhookRawBody(body: object): string {
  return canonicalJson(shorten(body), { ascii: true });
}

/** X-Signature-V2: over the canonical form with non-ASCII literal, so it survives re-serialization. No timestamp prefix. */
export function signatureV2(body: object, secret: string): string {
  return hmacSha256Hex(secret, Buffer.from(canonicalJson(shorten(body), { ascii: false }), "utf8"));
}

/**
 * X-Signature-Simple covers only timestamp, session_id, status and webhook_type; metadata, vendor_data and
 * decision are unsigned by it, which is why the verifier never accepts it.
 */
export function signatureSimple(body: object, secret: string): string {
  const fields = body as Record<string, unknown>;
  const message = ["timestamp", "session_id", "status", "webhook_type"]
    .map((key) => pythonStr(fields[key]))
    .join(":");
  return hmacSha256Hex(secret, Buffer.from(message, "utf8"));
}

/** Python's str() for the scalars Didit puts in these fields; absent reads as "" (Didit uses dict.get(k, "")). */
export function pythonStr(value: unknown): string {
  if (value === undefined) return "";
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  // Not Python's repr of a dict/list; these fields are never containers in a Didit event.
  return canonicalJson(value, { ascii: false });
}
