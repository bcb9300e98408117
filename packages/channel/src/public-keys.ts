import { z } from "zod";
import {
  importKeyHandle,
  type KeyHandle,
  type PublicEncryptionJwk,
  type PublicSigningJwk,
  publicEncryptionJwkSchema,
  publicSigningJwkSchema,
} from "./jwk.js";

/**
 * A partner's published keys. Private material (`d`) is refused outright: a registry holding it
 * would mean a private key was copied somewhere it should never be.
 */
export const publicJwksSchema = z.object({
  keys: z
    .array(
      z
        .looseObject({})
        .refine((jwk) => !("d" in jwk), "contains private key material (d); publish only public.jwks.json")
        .pipe(z.discriminatedUnion("use", [publicSigningJwkSchema, publicEncryptionJwkSchema])),
    )
    .refine((keys) => keys.some((jwk) => jwk.use === "sig"), "needs a signing key (use sig)")
    .refine((keys) => keys.some((jwk) => jwk.use === "enc"), "needs an encryption key (use enc)"),
});

/** A peer's keys, imported once: every signing key it may sign with, the one key to encrypt to. */
export interface PartnerPublicKeys {
  signing: readonly KeyHandle[];
  /** The first `enc` key of the JWKS: its current key. */
  encryption: KeyHandle;
  /**
   * Every `enc` key of the JWKS, current first: the keys its envelopes' content keys may be derived
   * from (its previous key too, for envelopes sealed just before it rotated).
   */
  encryptionKeys: readonly KeyHandle[];
}

export async function importPartnerPublicKeys(
  jwks: z.infer<typeof publicJwksSchema>,
): Promise<PartnerPublicKeys> {
  const signingJwks = jwks.keys.filter((jwk): jwk is PublicSigningJwk => jwk.use === "sig");
  const encryptionJwks = jwks.keys.filter((jwk): jwk is PublicEncryptionJwk => jwk.use === "enc");
  const encryptionKeys = await Promise.all(encryptionJwks.map(importKeyHandle));
  const [encryption] = encryptionKeys;
  if (!encryption) throw new TypeError("no encryption key");
  return {
    signing: await Promise.all(signingJwks.map(importKeyHandle)),
    encryption,
    encryptionKeys,
  };
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}
