import { compactDecrypt } from "jose";
import { compactSegments, decodeHeader } from "./compact.js";
import { contentKeyFor } from "./content-keys.js";
import { decryptDirectJwe } from "./direct-jwe.js";
import {
  CONTENT_ENCRYPTION_ALG,
  DIRECT_KEY_MANAGEMENT_ALG,
  type ImportedKey,
  KEY_MANAGEMENT_ALG,
  keyObjectOf,
  SIGNING_ALG,
} from "./jwk.js";
import { verifyCompactJws } from "./jws.js";
import type { PartnerPrivateKeys } from "./keys.js";
import {
  type ClaimsOf,
  type EnvelopeType,
  envelopeClaimsSchema,
  isEnvelopeType,
  payloadSchemas,
} from "./payloads.js";
import type { PartnerRegistry } from "./registry.js";

export const REJECTION_REASONS = [
  "undecryptable",
  "bad_signature",
  /**
   * A `dir` envelope whose content key was derived from one partner's encryption key but whose
   * JWS is signed by another: the sealer and the signer must be the same partner.
   */
  "sender_mismatch",
  "unknown_sender",
  "wrong_audience",
  "wrong_type",
  "expired",
  "malformed",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface EnvelopeRejection {
  ok: false;
  reason: RejectionReason;
  /**
   * Set when the envelope was provably signed by a registered partner that is also its `iss`, but
   * is still refused (wrong type or audience, expired, bad payload): whom to tell, about which
   * message. Never set when the sender is in doubt.
   */
  sender?: string;
  jti?: string;
}

export type OpenResult<C> = { ok: true; claims: C } | EnvelopeRejection;

export interface EnvelopeOpener {
  open<T extends EnvelopeType = EnvelopeType>(
    envelope: string,
    expectedTyp?: T,
  ): Promise<OpenResult<ClaimsOf<T>>>;
}

export interface EnvelopeOpenerOptions {
  /** This partner's id: envelopes must be addressed (`aud`) to it. */
  self: string;
  keys: PartnerPrivateKeys;
  registry: PartnerRegistry;
  /** Tolerance on `exp` for clocks that disagree; at most 60 s. */
  clockSkewSeconds?: number;
  now?: () => Date;
}

export const MAX_CLOCK_SKEW_SECONDS = 60;

const decoder = new TextDecoder();

/** What decrypting established, or why it failed. */
type Decrypted =
  | {
      jws: string;
      /** `dir` only: the partner whose encryption key derived the content key, and for whom. */
      sealedBy?: string;
      sealedFor?: string;
    }
  | "malformed"
  | "undecryptable"
  | "unknown_sender";

const stringsIn = (header: Record<string, unknown>, ...names: string[]) =>
  names.every((name) => typeof header[name] === "string");

/**
 * Header members of extensions we never produce: `crit` (extensions the reader must understand),
 * `zip` (JWE compression), `b64` (an unencoded JWS payload, RFC 7797). jose refused the ones it did
 * not implement; our node:crypto code implements none, so it refuses them all, as malformed.
 */
const carriesExtensions = (header: Record<string, unknown>, ...names: string[]) =>
  names.some((name) => Object.hasOwn(header, name));

/** The first format only (`ECDH-ES+A256KW`): off the hot path, so jose unwraps it. */
async function decryptKeyWrapped(envelope: string, key: ImportedKey): Promise<string | undefined> {
  try {
    const { plaintext } = await compactDecrypt(envelope, key, {
      keyManagementAlgorithms: [KEY_MANAGEMENT_ALG],
      contentEncryptionAlgorithms: [CONTENT_ENCRYPTION_ALG],
    });
    return decoder.decode(plaintext);
  } catch {
    return undefined;
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Opens envelopes from partners, `dir` and `ECDH-ES+A256KW` alike. Checks run in a fixed order
 * (decrypt, signature, sealer = signer, type, audience, issuer, expiry, payload) and the first
 * failure is the reason. It never throws: a peer's bad input is a value to record, not an
 * exception. Replays are not detected here; the receiver deduplicates by `jti` where it records the
 * effect (its database).
 */
export function createEnvelopeOpener(options: EnvelopeOpenerOptions): EnvelopeOpener {
  const { self, keys, registry } = options;
  const skew = options.clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  if (!(skew >= 0 && skew <= MAX_CLOCK_SKEW_SECONDS)) {
    throw new RangeError(`clockSkewSeconds must be between 0 and ${MAX_CLOCK_SKEW_SECONDS}, got ${skew}`);
  }
  const now = options.now ?? (() => new Date());
  registry.get(self);

  /**
   * The JWE headers we produce, and nothing else: algorithms are never chosen by the sender.
   * `dir` (sealed now): derive the content key from our key `kid` and the sender's key `skid`,
   * for the parties `iss` → `aud` the header names (authenticated by A256GCM, so a changed header
   * cannot decrypt), then decrypt with node:crypto (direct-jwe.ts). `ECDH-ES+A256KW` (the first
   * format, still in flight during an upgrade): the content key is wrapped to our key `kid`; jose
   * unwraps and decrypts it.
   */
  async function decrypt(
    envelope: string,
    segments: readonly string[],
    header: Record<string, unknown>,
  ): Promise<Decrypted> {
    const encryptedKey = segments[1];
    if (header.enc !== CONTENT_ENCRYPTION_ALG || header.cty !== "JWT") return "malformed";
    // A wrapped key with `dir`, or none with key wrapping, is not an envelope we produce.
    if ((encryptedKey === "") !== (header.alg === DIRECT_KEY_MANAGEMENT_ALG)) return "malformed";
    if (header.alg === KEY_MANAGEMENT_ALG) {
      if (!stringsIn(header, "kid")) return "malformed";
      const ownKey = keys.decryption.find((handle) => handle.kid === header.kid);
      const jws = ownKey && (await decryptKeyWrapped(envelope, ownKey.key));
      return jws === undefined ? "undecryptable" : { jws };
    }
    if (header.alg !== DIRECT_KEY_MANAGEMENT_ALG) return "malformed";
    if (carriesExtensions(header, "crit", "zip")) return "malformed";
    if (!stringsIn(header, "kid", "skid", "iss", "aud")) return "malformed";
    const { kid, skid, iss, aud } = header as Record<"kid" | "skid" | "iss" | "aud", string>;
    const ownKey = keys.decryption.find((handle) => handle.kid === kid);
    if (!ownKey) return "undecryptable";
    const peerKey = await registry.senderEncryptionKey(iss, skid);
    if (!peerKey) return "unknown_sender";
    const contentKey = contentKeyFor(
      { ownKey, peerKey, sender: { partnerId: iss, kid: skid }, receiver: { partnerId: aud, kid } },
      // Only our own address is expected; a key for another one is derived to read the signed
      // claims (and say whose mistake it was), never kept.
      { cached: aud === self },
    );
    const plaintext = decryptDirectJwe(segments, contentKey);
    return plaintext === undefined
      ? "undecryptable"
      : { jws: decoder.decode(plaintext), sealedBy: iss, sealedFor: aud };
  }

  async function open(
    envelope: string,
    expectedTyp?: EnvelopeType,
  ): Promise<OpenResult<ClaimsOf<EnvelopeType>>> {
    const reject = (reason: RejectionReason, context?: { sender: string; jti: string }): EnvelopeRejection =>
      context ? { ok: false, reason, ...context } : { ok: false, reason };
    if (typeof envelope !== "string") return reject("malformed");
    const jweSegments = compactSegments(envelope, 5);
    if (!jweSegments) return reject("malformed");
    const jweHeader = decodeHeader(jweSegments[0] as string);
    if (!jweHeader) return reject("malformed");
    const decrypted = await decrypt(envelope, jweSegments, jweHeader);
    if (typeof decrypted === "string") return reject(decrypted);
    const { jws, sealedBy, sealedFor } = decrypted;

    const jwsSegments = compactSegments(jws, 3);
    const jwsHeader = jwsSegments && decodeHeader(jwsSegments[0] as string);
    if (!jwsHeader || jwsHeader.alg !== SIGNING_ALG || carriesExtensions(jwsHeader, "crit", "b64")) {
      return reject("malformed");
    }
    const signer = typeof jwsHeader.kid === "string" ? await registry.signerOf(jwsHeader.kid) : undefined;
    if (!signer) return reject("unknown_sender");
    const signedBytes = verifyCompactJws(jwsSegments, keyObjectOf(signer.key.key));
    if (!signedBytes) return reject("bad_signature");
    // Whoever could derive the content key must be whoever signed: a partner may not wrap another
    // partner's signed message as its own.
    if (sealedBy !== undefined && signer.partnerId !== sealedBy) return reject("sender_mismatch");

    const parsed = envelopeClaimsSchema.safeParse(parseJson(signedBytes));
    if (!parsed.success) return reject("malformed");
    const claims = parsed.data;
    // From here the signer is proven; it is the one to tell, if it is also who the claims say.
    const context =
      claims.iss === signer.partnerId ? { sender: signer.partnerId, jti: claims.jti } : undefined;
    if (!isEnvelopeType(claims.typ) || (expectedTyp !== undefined && claims.typ !== expectedTyp)) {
      return reject("wrong_type", context);
    }
    // The content key of a `dir` envelope was derived for `sealedFor`, which must be the `aud` too.
    if (claims.aud !== self || (sealedFor !== undefined && sealedFor !== claims.aud)) {
      return reject("wrong_audience", context);
    }
    if (registry.find(claims.iss) === undefined) return reject("unknown_sender");
    // A registered partner signing in another partner's name.
    if (claims.iss !== signer.partnerId) return reject("bad_signature");
    if (now().getTime() / 1000 > claims.exp + skew) return reject("expired", context);

    const payload = payloadSchemas[claims.typ].safeParse(claims.payload);
    if (!payload.success) return reject("malformed", context);
    if ("token_expires_at" in payload.data && claims.exp * 1000 > Date.parse(payload.data.token_expires_at)) {
      // The sender broke the rule that an envelope never outlives its token.
      return reject("malformed", context);
    }
    return {
      ok: true,
      claims: { ...claims, typ: claims.typ, payload: payload.data } as ClaimsOf<EnvelopeType>,
    };
  }

  return {
    open: (async (envelope: string, expectedTyp?: EnvelopeType) => {
      try {
        return await open(envelope, expectedTyp);
      } catch {
        // Belt and braces: a registry reload failing, or a library throwing where it should not.
        return { ok: false, reason: "malformed" } satisfies EnvelopeRejection;
      }
    }) as EnvelopeOpener["open"],
  };
}
