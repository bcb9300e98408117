/**
 * Strict reading of JOSE compact serializations, before any cryptography runs.
 *
 * Base64url decoders (Node's and jose's alike) ignore the unused low bits of a segment's last
 * character, so several spellings decode to the same bytes. Accepting only the canonical spelling
 * means a changed character in an envelope is always a rejection, never a silent equivalent.
 */
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Longest envelope accepted: a share offer is about 2 KiB; anything near this is not ours. */
export const MAX_ENVELOPE_LENGTH = 64 * 1024;

function isCanonicalSegment(segment: string): boolean {
  return SEGMENT.test(segment) && Buffer.from(segment, "base64url").toString("base64url") === segment;
}

/**
 * The segments of a compact JWS (3) or JWE (5), or undefined if the text is not one. Every segment
 * must be non-empty, except a JWE's encrypted key (segment 1), which `alg: "dir"` leaves empty.
 */
export function compactSegments(text: string, count: 3 | 5): string[] | undefined {
  if (text.length > MAX_ENVELOPE_LENGTH) return undefined;
  const segments = text.split(".");
  if (segments.length !== count) return undefined;
  const valid = segments.every(
    (segment, index) => isCanonicalSegment(segment) || (count === 5 && index === 1 && segment === ""),
  );
  return valid ? segments : undefined;
}

/** A protected header as a plain object, or undefined if it is not JSON of an object. */
export function decodeHeader(segment: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof header === "object" && header !== null && !Array.isArray(header)
      ? (header as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
