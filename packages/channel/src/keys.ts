import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";
import { z } from "zod";
import {
  importKeyHandle,
  KEY_MANAGEMENT_ALG,
  type KeyHandle,
  type PrivateEncryptionJwk,
  type PrivateSigningJwk,
  type PublicEncryptionJwk,
  type PublicSigningJwk,
  privateEncryptionJwkSchema,
  privateSigningJwkSchema,
  SIGNING_ALG,
  toPublicJwk,
} from "./jwk.js";
import { assertPartnerId, partnerIdSchema } from "./partner-id.js";

/** One generation of a partner's keys: sign with one, receive (decrypt) with the other. */
export interface PartnerKeySet {
  created_at: string;
  signing: PrivateSigningJwk;
  encryption: PrivateEncryptionJwk;
}

/**
 * The private key file. `previous` keeps the generation before the last rotation, so envelopes
 * already sealed to it (or signed with it) still open while partners pick up the new public keys.
 */
export interface PartnerKeyFile {
  partner_id: string;
  current: PartnerKeySet;
  previous?: PartnerKeySet;
}

export interface PublicJwks {
  keys: Array<PublicSigningJwk | PublicEncryptionJwk>;
}

/**
 * This partner's keys, imported once: sign with the current key; seal with the current encryption
 * key, open with the current or previous one.
 */
export interface PartnerPrivateKeys {
  partnerId: string;
  signing: KeyHandle;
  /** Encryption private keys, current first, then previous. */
  decryption: readonly KeyHandle[];
}

const keySetSchema = z.object({
  created_at: z.iso.datetime({ offset: true }),
  signing: privateSigningJwkSchema,
  encryption: privateEncryptionJwkSchema,
});
export const partnerKeyFileSchema = z.object({
  partner_id: partnerIdSchema,
  current: keySetSchema,
  previous: keySetSchema.optional(),
});

function keyId(partnerId: string, use: "sig" | "enc", now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll("-", "");
  return `${partnerId}-${use}-${day}-${randomBytes(4).toString("hex")}`;
}

export async function generatePartnerKeys(partnerId: string, now: Date = new Date()): Promise<PartnerKeySet> {
  assertPartnerId(partnerId);
  const signing = await generateKeyPair(SIGNING_ALG, { crv: "Ed25519", extractable: true });
  const encryption = await generateKeyPair(KEY_MANAGEMENT_ALG, { crv: "X25519", extractable: true });
  return {
    created_at: now.toISOString(),
    signing: privateSigningJwkSchema.parse({
      ...(await exportJWK(signing.privateKey)),
      kid: keyId(partnerId, "sig", now),
      use: "sig",
      alg: SIGNING_ALG,
    }),
    encryption: privateEncryptionJwkSchema.parse({
      ...(await exportJWK(encryption.privateKey)),
      kid: keyId(partnerId, "enc", now),
      use: "enc",
      alg: KEY_MANAGEMENT_ALG,
    }),
  };
}

/** The new generation becomes current; the old current is kept as previous, older ones are dropped. */
export function rotatePartnerKeys(file: PartnerKeyFile, next: PartnerKeySet): PartnerKeyFile {
  return { partner_id: file.partner_id, current: next, previous: file.current };
}

/**
 * What other partners need: the current signing and encryption keys, plus the previous signing and
 * encryption keys, so envelopes signed, or whose content key was derived, just before a rotation
 * still open. Senders encrypt to the first `enc` key, the current one.
 */
export function publicJwksOf(file: PartnerKeyFile): PublicJwks {
  const keys: PublicJwks["keys"] = [toPublicJwk(file.current.signing), toPublicJwk(file.current.encryption)];
  if (file.previous) keys.push(toPublicJwk(file.previous.signing), toPublicJwk(file.previous.encryption));
  return { keys };
}

export async function importPartnerPrivateKeys(file: PartnerKeyFile): Promise<PartnerPrivateKeys> {
  const decryption = [await importKeyHandle(file.current.encryption)];
  if (file.previous) decryption.push(await importKeyHandle(file.previous.encryption));
  return {
    partnerId: file.partner_id,
    signing: await importKeyHandle(file.current.signing),
    decryption,
  };
}
