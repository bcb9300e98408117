import { createHash } from "node:crypto";
import type { SessionKind } from "./api-types.js";
import { isPlainObject } from "./canonical-json.js";

/**
 * Reading a share token's claims WITHOUT checking its signature.
 *
 * ┌──────────────────────────────────────────────────────────────────────────────────────────────┐
 * │ THESE CLAIMS PROVE NOTHING. The token is an HS256 JWT whose key only Didit holds, so anyone  │
 * │ can forge a token with any claims. Use them only to reject early (expired, addressed to      │
 * │ another application, wrong workflow kind) and never to accept, authorize or record a fact.   │
 * │ The import-shared call is the proof (docs/DIDIT.md#traps).                                   │
 * └──────────────────────────────────────────────────────────────────────────────────────────────┘
 */
export interface ShareTokenClaims {
  session_id: string;
  /**
   * "user" when the claim is missing: tokens minted before KYB sharing lack it
   * (docs/DIDIT.md#share-a-session).
   */
  session_kind: SessionKind;
  from_application_id: string;
  for_application_id: string;
  /** Unix seconds. */
  iat: number;
  /** Unix seconds; iat + ttl_in_seconds. */
  exp: number;
}

export type ShareTokenDecoding = { ok: true; claims: ShareTokenClaims } | { ok: false; reason: "malformed" };

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Decodes the unverified payload of a share token; never throws. See the warning on `ShareTokenClaims`. */
export function decodeShareTokenClaims(token: string): ShareTokenDecoding {
  const segments = typeof token === "string" ? token.split(".") : [];
  // Buffer's base64url decoder skips characters it does not know, so the alphabet is checked first.
  if (segments.length !== 3 || !segments.every((segment) => BASE64URL_SEGMENT.test(segment))) {
    return MALFORMED;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(segments[1] as string, "base64url").toString("utf8"));
  } catch {
    return MALFORMED;
  }
  const claims = readClaims(payload);
  return claims === undefined ? MALFORMED : { ok: true, claims };
}

const MALFORMED: ShareTokenDecoding = Object.freeze({ ok: false, reason: "malformed" });

function readClaims(payload: unknown): ShareTokenClaims | undefined {
  if (!isPlainObject(payload)) return undefined;
  const { session_id, session_kind = "user", from_application_id, for_application_id, iat, exp } = payload;
  if (
    typeof session_id !== "string" ||
    (session_kind !== "user" && session_kind !== "business") ||
    typeof from_application_id !== "string" ||
    typeof for_application_id !== "string" ||
    !Number.isInteger(iat) ||
    !Number.isInteger(exp)
  ) {
    return undefined;
  }
  return {
    session_id,
    session_kind,
    from_application_id,
    for_application_id,
    iat: iat as number,
    exp: exp as number,
  };
}

/** Didit treats a token as expired from the second `exp` is reached (now >= exp). */
export function isShareTokenExpired(claims: Pick<ShareTokenClaims, "exp">, nowSeconds: number): boolean {
  return nowSeconds >= claims.exp;
}

const SHARE_TOKEN_ID_HEX_LENGTH = 16;

/**
 * A short, stable reference to a token for audit records and logs: the first 16 hex characters (64 bits)
 * of its SHA-256. It identifies the token without revealing it; the token itself is never logged.
 */
export function shareTokenId(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex").slice(0, SHARE_TOKEN_ID_HEX_LENGTH);
}
