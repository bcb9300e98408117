import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from "node:crypto";
import type { SessionKind } from "@share-broker/didit";

export interface ShareTokenClaims {
  session_id: string;
  session_kind: SessionKind;
  from_application_id: string;
  for_application_id: string;
  iat: number;
  exp: number;
}

/** The one protected header this sandbox writes, byte for byte as JOSE libraries serialise it. */
const HEADER_SEGMENT = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
const SIGNATURE_BYTES = 32;

function isCanonicalBase64url(segment: string): boolean {
  return (
    /^[A-Za-z0-9_-]+$/.test(segment) && Buffer.from(segment, "base64url").toString("base64url") === segment
  );
}

/**
 * Mints and checks share tokens as Didit does (docs/DIDIT.md#share-a-session): HS256 JWTs under a key only
 * the sandbox holds, generated per process so no token outlives the sandbox that signed it.
 *
 * HMAC-SHA256 runs through node:crypto, synchronously: through WebCrypto (jose) each token cost an
 * asynchronous crypto job, which made share tokens a third of the sandbox's CPU under load. Only
 * tokens this sandbox wrote are ever accepted, so the header must be exactly the one it writes: no
 * algorithm is read from the token.
 */
export class ShareTokenIssuer {
  readonly #key: KeyObject = createSecretKey(randomBytes(32));

  #sign(signingInput: string): Buffer {
    return createHmac("sha256", this.#key).update(signingInput, "ascii").digest();
  }

  mint(claims: Omit<ShareTokenClaims, "iat" | "exp">, ttlSeconds: number, nowSeconds: number): string {
    const payload = Buffer.from(
      JSON.stringify({
        session_id: claims.session_id,
        session_kind: claims.session_kind,
        from_application_id: claims.from_application_id,
        for_application_id: claims.for_application_id,
        iat: nowSeconds,
        exp: nowSeconds + ttlSeconds,
      }),
    ).toString("base64url");
    const signingInput = `${HEADER_SEGMENT}.${payload}`;
    return `${signingInput}.${this.#sign(signingInput).toString("base64url")}`;
  }

  /** The claims of a token this sandbox signed and that has not expired (now >= exp is expired); else undefined. */
  verify(token: string, nowSeconds: number): ShareTokenClaims | undefined {
    if (typeof token !== "string") return undefined;
    const segments = token.split(".");
    if (segments.length !== 3) return undefined;
    const [header, payloadSegment, signatureSegment] = segments as [string, string, string];
    if (header !== HEADER_SEGMENT || !isCanonicalBase64url(payloadSegment)) return undefined;
    if (!isCanonicalBase64url(signatureSegment)) return undefined;
    const signature = Buffer.from(signatureSegment, "base64url");
    if (signature.length !== SIGNATURE_BYTES) return undefined;
    if (!timingSafeEqual(signature, this.#sign(`${header}.${payloadSegment}`))) return undefined;

    let payload: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payloadSegment, "base64url").toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
      payload = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const { session_id, session_kind = "user", from_application_id, for_application_id, iat, exp } = payload;
    if (
      typeof session_id !== "string" ||
      (session_kind !== "user" && session_kind !== "business") ||
      typeof from_application_id !== "string" ||
      typeof for_application_id !== "string" ||
      typeof iat !== "number" ||
      typeof exp !== "number" ||
      nowSeconds >= exp
    ) {
      return undefined;
    }
    return { session_id, session_kind, from_application_id, for_application_id, iat, exp };
  }
}
