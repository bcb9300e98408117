import { CompactEncrypt } from "jose";
import { contentKeyFor } from "./content-keys.js";
import { encryptDirectJwe } from "./direct-jwe.js";
import {
  CONTENT_ENCRYPTION_ALG,
  DIRECT_KEY_MANAGEMENT_ALG,
  KEY_MANAGEMENT_ALG,
  type KeyHandle,
  keyObjectOf,
  SIGNING_ALG,
} from "./jwk.js";
import { signCompactJws } from "./jws.js";
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

/**
 * How the content key of an envelope is established. `dir` (the default): derived once per peer
 * pair from the static X25519 agreement of both partners' encryption keys. `ECDH-ES+A256KW`: the
 * first envelope format, a fresh ephemeral X25519 key per message; only for a receiver that does
 * not open `dir` envelopes yet (during an upgrade).
 */
export type EnvelopeKeyManagement = typeof DIRECT_KEY_MANAGEMENT_ALG | typeof KEY_MANAGEMENT_ALG;

export interface EnvelopeSealerOptions {
  /** This partner's id, the `iss` of every envelope. */
  self: string;
  keys: PartnerPrivateKeys;
  registry: PartnerRegistry;
  now?: () => Date;
  /** Default `dir`; see EnvelopeKeyManagement. */
  keyManagement?: EnvelopeKeyManagement;
}

const encoder = new TextEncoder();

/**
 * An envelope outliving the token inside it would be accepted by the receiver only to fail at
 * Didit; it must expire first (docs/PROTOCOL.md#offer-message), whatever expiry the caller asked for.
 */
export function envelopeExpiry(input: SealInput): Date {
  if (input.typ !== "share-offer") return input.expiresAt;
  const tokenExpiry = Date.parse(input.payload.token_expires_at);
  return tokenExpiry < input.expiresAt.getTime() ? new Date(tokenExpiry) : input.expiresAt;
}

/** Checked with the receiver's own rule, so we never seal a `jti` it would refuse. */
const jtiSchema = envelopeClaimsSchema.shape.jti;

/**
 * The claims, validated once: the payload with its schema, the one caller-chosen claim (`jti`) with
 * the receiver's rule. `iss` and `aud` are registered partner ids, `typ` is checked, `iat` and `exp`
 * are computed here, so the whole claim set needs no second pass.
 */
function claimsOf(self: string, input: SealInput, now: Date): EnvelopeClaims {
  if (!isEnvelopeType(input.typ)) throw new EnvelopeSealError(`unknown envelope type "${String(input.typ)}"`);
  const payload = payloadSchemas[input.typ].safeParse(input.payload);
  if (!payload.success)
    throw new EnvelopeSealError(`invalid ${input.typ} payload: ${formatIssues(payload.error)}`);
  const jti = jtiSchema.safeParse(input.jti);
  if (!jti.success) throw new EnvelopeSealError(`invalid envelope claims: jti: ${formatIssues(jti.error)}`);
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.floor(envelopeExpiry(input).getTime() / 1000);
  if (!(exp > iat && iat >= 0))
    throw new EnvelopeSealError(`envelope ${input.jti} would be expired when sealed`);
  return {
    iss: self,
    aud: input.to,
    jti: jti.data,
    iat,
    exp,
    typ: input.typ,
    payload: payload.data,
  } as EnvelopeClaims;
}

/**
 * Signs with our current signing key (EdDSA), then encrypts to the receiver (A256GCM). Signing
 * inside means the receiver can prove who wrote the message; encrypting outside means only the
 * receiver can read it, share token included.
 *
 * The content key (`alg: "dir"`) is derived from our current encryption key and the receiver's
 * current one (content-keys.ts), once per pair, and cached. The protected header, authenticated by
 * A256GCM, names what the receiver needs to derive it again: `kid` (its encryption key), `skid`
 * (ours), and `iss`/`aud` replicated from the claims (RFC 7519 §5.3). Signing and `dir` encryption
 * run on node:crypto (jws.ts, direct-jwe.ts), synchronously: they are on every share's path. With
 * `keyManagement: "ECDH-ES+A256KW"` it is the first format instead, an ephemeral key per message,
 * encrypted by jose: only sealed during an upgrade, not worth a second implementation.
 */
export function createEnvelopeSealer(options: EnvelopeSealerOptions): EnvelopeSealer {
  const { self, keys, registry } = options;
  const now = options.now ?? (() => new Date());
  const keyManagement = options.keyManagement ?? DIRECT_KEY_MANAGEMENT_ALG;
  registry.get(self);
  if (keys.partnerId !== self) {
    throw new EnvelopeSealError(`the keys belong to ${keys.partnerId}, not to ${self}`);
  }
  if (keyManagement !== DIRECT_KEY_MANAGEMENT_ALG && keyManagement !== KEY_MANAGEMENT_ALG) {
    throw new EnvelopeSealError(`unknown key management "${String(keyManagement)}"`);
  }
  const currentEncryptionKey = keys.decryption[0];
  if (!currentEncryptionKey) throw new EnvelopeSealError(`the keys of ${self} have no encryption key`);
  const ownEncryptionKey: KeyHandle = currentEncryptionKey;

  const signingKey = keyObjectOf(keys.signing.key);
  const signingHeader = { alg: SIGNING_ALG, kid: keys.signing.kid, typ: "JWT" };
  const sign = (claims: EnvelopeClaims) => signCompactJws(JSON.stringify(claims), signingHeader, signingKey);

  function sealDirect(to: string, recipient: KeyHandle, jws: string): string {
    const contentKey = contentKeyFor({
      ownKey: ownEncryptionKey,
      peerKey: recipient,
      sender: { partnerId: self, kid: ownEncryptionKey.kid },
      receiver: { partnerId: to, kid: recipient.kid },
    });
    return encryptDirectJwe(
      jws,
      {
        alg: DIRECT_KEY_MANAGEMENT_ALG,
        enc: CONTENT_ENCRYPTION_ALG,
        cty: "JWT",
        kid: recipient.kid,
        skid: ownEncryptionKey.kid,
        iss: self,
        aud: to,
      },
      contentKey,
    );
  }

  function sealEphemeral(recipient: KeyHandle, jws: string): Promise<string> {
    return new CompactEncrypt(encoder.encode(jws))
      .setProtectedHeader({
        alg: KEY_MANAGEMENT_ALG,
        enc: CONTENT_ENCRYPTION_ALG,
        kid: recipient.kid,
        cty: "JWT",
      })
      .encrypt(recipient.key);
  }

  return {
    async seal(input) {
      registry.get(input.to);
      const claims = claimsOf(self, input, now());
      const recipient = await registry.encryptionKeyOf(input.to);
      const jws = sign(claims);
      return keyManagement === DIRECT_KEY_MANAGEMENT_ALG
        ? sealDirect(input.to, recipient, jws)
        : sealEphemeral(recipient, jws);
    },
  };
}
