import { randomBytes } from "node:crypto";
import type { SessionKind } from "@share-broker/didit";
import { jwtVerify, SignJWT } from "jose";

export interface ShareTokenClaims {
  session_id: string;
  session_kind: SessionKind;
  from_application_id: string;
  for_application_id: string;
  iat: number;
  exp: number;
}

/**
 * Mints and checks share tokens as Didit does (API.md §2): HS256 JWTs under a key only the sandbox
 * holds, generated per process so no token outlives the sandbox that signed it.
 */
export class ShareTokenIssuer {
  // Imported once as a CryptoKey: given raw bytes, jose would import the key again on every token.
  readonly #key = crypto.subtle.importKey(
    "raw",
    new Uint8Array(randomBytes(32)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );

  async mint(
    claims: Omit<ShareTokenClaims, "iat" | "exp">,
    ttlSeconds: number,
    nowSeconds: number,
  ): Promise<string> {
    return new SignJWT({
      session_id: claims.session_id,
      session_kind: claims.session_kind,
      from_application_id: claims.from_application_id,
      for_application_id: claims.for_application_id,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + ttlSeconds)
      .sign(await this.#key);
  }

  /** The claims of a token this sandbox signed and that has not expired (now >= exp is expired); else undefined. */
  async verify(token: string, nowSeconds: number): Promise<ShareTokenClaims | undefined> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.#key, {
        algorithms: ["HS256"],
        currentDate: new Date(nowSeconds * 1000),
      }));
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
