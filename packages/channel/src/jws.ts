import { type KeyObject, sign, verify } from "node:crypto";

/**
 * EdDSA (Ed25519) compact JWS, RFC 7515, byte for byte what jose writes: the signature covers the
 * ASCII of `header . payload`. node:crypto rather than jose for the same reason as direct-jwe.ts:
 * synchronous, no WebCrypto job per envelope. Ed25519 is deterministic, so the same header, payload
 * and key give the very same JWS either way.
 */
const segmentOf = (text: string) => Buffer.from(text, "utf8").toString("base64url");

export function signCompactJws(
  payload: string,
  header: Readonly<Record<string, string>>,
  signingKey: KeyObject,
): string {
  const signingInput = `${segmentOf(JSON.stringify(header))}.${segmentOf(payload)}`;
  const signature = sign(null, Buffer.from(signingInput, "ascii"), signingKey);
  return `${signingInput}.${signature.toString("base64url")}`;
}

/**
 * The signed payload of a JWS given as its three compact segments (already checked canonical), or
 * undefined if the signature is not the key's. Never throws.
 */
export function verifyCompactJws(segments: readonly string[], publicKey: KeyObject): Buffer | undefined {
  const [header = "", payload = "", signature = ""] = segments;
  // With no algorithm named, node:crypto takes the key's: only an Ed25519 key may stand for EdDSA.
  if (publicKey.asymmetricKeyType !== "ed25519") return undefined;
  try {
    const signed = verify(
      null,
      Buffer.from(`${header}.${payload}`, "ascii"),
      publicKey,
      Buffer.from(signature, "base64url"),
    );
    return signed ? Buffer.from(payload, "base64url") : undefined;
  } catch {
    return undefined;
  }
}
