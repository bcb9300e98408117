import { CompactEncrypt, CompactSign } from "jose";
import { CONTENT_ENCRYPTION_ALG, KEY_MANAGEMENT_ALG, SIGNING_ALG } from "./jwk.js";
import type { PartnerPrivateKeys } from "./keys.js";
import {
  type EnvelopeClaims,
  type EnvelopeType,
  envelopeClaimsSchema,
  isEnvelopeType,
  type PayloadByType,
  payloadSchemas,
} from "./payloads.js";
import { formatIssues } from "./public-keys.js";
import type { PartnerRegistry } from "./registry.js";

/** Sealing refused: a programming or configuration error on the sending side, never input from a peer. */
export class EnvelopeSealError extends Error {
  override name = "EnvelopeSealError";
}

export type SealInput<T extends EnvelopeType = EnvelopeType> = T extends EnvelopeType
  ? {
      /** Receiver partner id. */
      to: string;
      typ: T;
      /** The message's business id: the share id. */
      jti: string;
      /** For a share offer, clamped to the share token's expiry. */
      expiresAt: Date;
      payload: PayloadByType[T];
    }
  : never;

export interface EnvelopeSealer {
  seal(input: SealInput): Promise<string>;
}

export interface EnvelopeSealerOptions {
  /** This partner's id, the `iss` of every envelope. */
  self: string;
  keys: PartnerPrivateKeys;
  registry: PartnerRegistry;
  now?: () => Date;
}

const encoder = new TextEncoder();

/**
 * An envelope outliving the token inside it would be accepted by the receiver only to fail at
 * Didit; it must expire first (DESIGN.md §5), whatever expiry the caller asked for.
 */
export function envelopeExpiry(input: SealInput): Date {
  if (input.typ !== "share-offer") return input.expiresAt;
  const tokenExpiry = Date.parse(input.payload.token_expires_at);
  return tokenExpiry < input.expiresAt.getTime() ? new Date(tokenExpiry) : input.expiresAt;
}

function claimsOf(self: string, input: SealInput, now: Date): EnvelopeClaims {
  if (!isEnvelopeType(input.typ)) throw new EnvelopeSealError(`unknown envelope type "${String(input.typ)}"`);
  const payload = payloadSchemas[input.typ].safeParse(input.payload);
  if (!payload.success)
    throw new EnvelopeSealError(`invalid ${input.typ} payload: ${formatIssues(payload.error)}`);
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.floor(envelopeExpiry(input).getTime() / 1000);
  if (!(exp > iat)) throw new EnvelopeSealError(`envelope ${input.jti} would be expired when sealed`);
  const claims = {
    iss: self,
    aud: input.to,
    jti: input.jti,
    iat,
    exp,
    typ: input.typ,
    payload: payload.data,
  };
  const checked = envelopeClaimsSchema.safeParse(claims);
  if (!checked.success)
    throw new EnvelopeSealError(`invalid envelope claims: ${formatIssues(checked.error)}`);
  return claims as EnvelopeClaims;
}

/**
 * Signs with our current signing key (EdDSA), then encrypts to the receiver's current encryption key
 * (ECDH-ES+A256KW on X25519, A256GCM). Signing inside means the receiver can prove who wrote the
 * message; encrypting outside means only the receiver can read it, share token included.
 */
export function createEnvelopeSealer(options: EnvelopeSealerOptions): EnvelopeSealer {
  const { self, keys, registry } = options;
  const now = options.now ?? (() => new Date());
  registry.get(self);
  if (keys.partnerId !== self) {
    throw new EnvelopeSealError(`the keys belong to ${keys.partnerId}, not to ${self}`);
  }
  return {
    async seal(input) {
      registry.get(input.to);
      const claims = claimsOf(self, input, now());
      const recipient = await registry.encryptionKeyOf(input.to);
      const jws = await new CompactSign(encoder.encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: SIGNING_ALG, kid: keys.signing.kid, typ: "JWT" })
        .sign(keys.signing.key);
      return new CompactEncrypt(encoder.encode(jws))
        .setProtectedHeader({
          alg: KEY_MANAGEMENT_ALG,
          enc: CONTENT_ENCRYPTION_ALG,
          kid: recipient.kid,
          cty: "JWT",
        })
        .encrypt(recipient.key);
    },
  };
}
