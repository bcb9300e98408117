import { KeyObject } from "node:crypto";
import { importJWK } from "jose";
import { z } from "zod";

/** Algorithms of the channel. EdDSA and X25519 cost about a third of ES256/P-256. */
export const SIGNING_ALG = "EdDSA";
/**
 * The `alg` of encryption JWKs, and the key management of the first envelope format (an ephemeral
 * X25519 key per message), which receivers still open and senders use only when asked to.
 */
export const KEY_MANAGEMENT_ALG = "ECDH-ES+A256KW";
/**
 * Key management of envelopes sealed now: the content key is derived once per peer pair from the
 * static X25519 agreement of both partners' encryption keys (content-keys.ts) and used directly.
 */
export const DIRECT_KEY_MANAGEMENT_ALG = "dir";
export const CONTENT_ENCRYPTION_ALG = "A256GCM";

const keyMaterial = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes, base64url-encoded");
const kid = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, "only letters, digits, '.', '_' and '-'");

export const publicSigningJwkSchema = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: keyMaterial,
  kid,
  use: z.literal("sig"),
  alg: z.literal(SIGNING_ALG),
});
export const publicEncryptionJwkSchema = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("X25519"),
  x: keyMaterial,
  kid,
  use: z.literal("enc"),
  alg: z.literal(KEY_MANAGEMENT_ALG),
});
export const privateSigningJwkSchema = publicSigningJwkSchema.extend({ d: keyMaterial });
export const privateEncryptionJwkSchema = publicEncryptionJwkSchema.extend({ d: keyMaterial });

export type PublicSigningJwk = z.infer<typeof publicSigningJwkSchema>;
export type PublicEncryptionJwk = z.infer<typeof publicEncryptionJwkSchema>;
export type PrivateSigningJwk = z.infer<typeof privateSigningJwkSchema>;
export type PrivateEncryptionJwk = z.infer<typeof privateEncryptionJwkSchema>;
export type ChannelJwk = PublicSigningJwk | PublicEncryptionJwk | PrivateSigningJwk | PrivateEncryptionJwk;

/** jose's key type (a WebCrypto CryptoKey), named without the DOM lib. */
export type ImportedKey = Exclude<Awaited<ReturnType<typeof importJWK>>, Uint8Array>;

/** A key imported once into a CryptoKey, named by the `kid` envelopes refer to it by. */
export interface KeyHandle {
  kid: string;
  key: ImportedKey;
}

/**
 * The node:crypto view of an imported key. Envelopes are signed, verified and agreed with
 * node:crypto (synchronous, no WebCrypto job per operation), which wants KeyObjects; keys are
 * imported once as CryptoKeys (jose), so each is converted once and remembered while it lives.
 */
const keyObjects = new WeakMap<ImportedKey, KeyObject>();
export function keyObjectOf(key: ImportedKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = KeyObject.from(key);
    keyObjects.set(key, object);
  }
  return object;
}

export async function importKeyHandle(jwk: ChannelJwk): Promise<KeyHandle> {
  // Extractable, because keyObjectOf converts it: Node 24 deprecates KeyObject.from() of a
  // non-extractable CryptoKey (DEP0204). The key material is this process's own in either case.
  const key = await importJWK(jwk, jwk.alg, { extractable: true });
  // Only symmetric JWKs import as bytes; the schemas above admit OKP keys only.
  if (key instanceof Uint8Array) throw new TypeError(`key ${jwk.kid} is not an asymmetric key`);
  return { kid: jwk.kid, key };
}

/** The public half of a private JWK: the `d` member dropped, nothing else. */
export function toPublicJwk<T extends PrivateSigningJwk | PrivateEncryptionJwk>(jwk: T): Omit<T, "d"> {
  const { d: _private, ...publicJwk } = jwk;
  return publicJwk;
}
