import { compactDecrypt, compactVerify } from "jose";
import { compactSegments, decodeHeader } from "./compact.js";
import { CONTENT_ENCRYPTION_ALG, KEY_MANAGEMENT_ALG, type KeyHandle, SIGNING_ALG } from "./jwk.js";
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

/** The JWE header we produce, and nothing else: algorithms are never chosen by the sender. */
function decryptionKeyFor(
  header: Record<string, unknown>,
  keys: PartnerPrivateKeys,
): KeyHandle | "malformed" | undefined {
  if (header.alg !== KEY_MANAGEMENT_ALG || header.enc !== CONTENT_ENCRYPTION_ALG || header.cty !== "JWT") {
    return "malformed";
  }
  if (typeof header.kid !== "string") return "malformed";
  return keys.decryption.find((handle) => handle.kid === header.kid);
}

async function decrypt(envelope: string, key: KeyHandle): Promise<string | undefined> {
  try {
    const { plaintext } = await compactDecrypt(envelope, key.key, {
      keyManagementAlgorithms: [KEY_MANAGEMENT_ALG],
      contentEncryptionAlgorithms: [CONTENT_ENCRYPTION_ALG],
    });
    return decoder.decode(plaintext);
  } catch {
    return undefined;
  }
}

async function verify(jws: string, key: KeyHandle): Promise<Uint8Array | undefined> {
  try {
    return (await compactVerify(jws, key.key, { algorithms: [SIGNING_ALG] })).payload;
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
 * Opens envelopes from partners. Checks run in a fixed order (decrypt, signature, type, audience,
 * issuer, expiry, payload) and the first failure is the reason. It never throws: a peer's bad input
 * is a value to record, not an exception. Replays are not detected here; the receiver deduplicates
 * by `jti` where it records the effect (its database).
 */
export function createEnvelopeOpener(options: EnvelopeOpenerOptions): EnvelopeOpener {
  const { self, keys, registry } = options;
  const skew = options.clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  if (!(skew >= 0 && skew <= MAX_CLOCK_SKEW_SECONDS)) {
    throw new RangeError(`clockSkewSeconds must be between 0 and ${MAX_CLOCK_SKEW_SECONDS}, got ${skew}`);
  }
  const now = options.now ?? (() => new Date());
  registry.get(self);

  async function open(
    envelope: string,
    expectedTyp?: EnvelopeType,
  ): Promise<OpenResult<ClaimsOf<EnvelopeType>>> {
    const reject = (reason: RejectionReason, context?: { sender: string; jti: string }): EnvelopeRejection =>
      context ? { ok: false, reason, ...context } : { ok: false, reason };
    if (typeof envelope !== "string") return reject("malformed");
    const jweSegments = compactSegments(envelope, 5);
    const jweHeader = jweSegments && decodeHeader(jweSegments[0] as string);
    if (!jweHeader) return reject("malformed");
    const decryptionKey = decryptionKeyFor(jweHeader, keys);
    if (decryptionKey === "malformed") return reject("malformed");
    const jws = decryptionKey && (await decrypt(envelope, decryptionKey));
    if (jws === undefined) return reject("undecryptable");

    const jwsSegments = compactSegments(jws, 3);
    const jwsHeader = jwsSegments && decodeHeader(jwsSegments[0] as string);
    if (!jwsHeader || jwsHeader.alg !== SIGNING_ALG) return reject("malformed");
    const signer = typeof jwsHeader.kid === "string" ? await registry.signerOf(jwsHeader.kid) : undefined;
    if (!signer) return reject("unknown_sender");
    const signedBytes = await verify(jws, signer.key);
    if (!signedBytes) return reject("bad_signature");

    const parsed = envelopeClaimsSchema.safeParse(parseJson(signedBytes));
    if (!parsed.success) return reject("malformed");
    const claims = parsed.data;
    // From here the signer is proven; it is the one to tell, if it is also who the claims say.
    const context =
      claims.iss === signer.partnerId ? { sender: signer.partnerId, jti: claims.jti } : undefined;
    if (!isEnvelopeType(claims.typ) || (expectedTyp !== undefined && claims.typ !== expectedTyp)) {
      return reject("wrong_type", context);
    }
    if (claims.aud !== self) return reject("wrong_audience", context);
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
