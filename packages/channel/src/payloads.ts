import { z } from "zod";

/**
 * What an envelope carries. A→B share offers and B→A import results travel in the same envelope
 * format; `typ` tells them apart so one can never be replayed as the other.
 */
export const ENVELOPE_TYPES = ["share-offer", "import-result", "share-revoke"] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

export function isEnvelopeType(value: unknown): value is EnvelopeType {
  return typeof value === "string" && (ENVELOPE_TYPES as readonly string[]).includes(value);
}

// Bounded strings: an envelope is attacker-reachable input once it is decrypted, so no field may be
// arbitrarily large.
const text = (max = 256) => z.string().min(1).max(max);
const isoInstant = z.iso.datetime({ offset: true });

/** W3C trace context, so a share can be followed across both partners' logs. */
export const traceContextSchema = z.object({
  traceparent: text(128),
  tracestate: text(512).optional(),
});

export const shareOfferPayloadSchema = z.object({
  share_token: text(8192),
  session_kind: text(64),
  purpose: text(512),
  scope: text(512),
  consent_id: text(128),
  // The importer's single-use link code for its user, which the user brought to the sharer: the
  // importer imports only for the user its own link request names. A secret until redeemed.
  link_code: text(256),
  user_pseudonym: text(256),
  token_expires_at: isoInstant,
  trace: traceContextSchema.optional(),
});
export type ShareOfferPayload = z.infer<typeof shareOfferPayloadSchema>;

/**
 * A→B: the user's consent behind a share was withdrawn or expired. Sent for a share already sent
 * (and again for one already imported, which partner-b then marks): partner-b never imports a
 * revoked share, whichever of offer and revocation reaches it first. The share id is the `jti`.
 */
export const REVOCATION_REASONS = ["consent_withdrawn", "consent_expired"] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export const shareRevokePayloadSchema = z.object({
  reason: z.enum(REVOCATION_REASONS),
  revoked_at: isoInstant,
  trace: traceContextSchema.optional(),
});
export type ShareRevokePayload = z.infer<typeof shareRevokePayloadSchema>;

export const IMPORT_OUTCOMES = ["imported", "rejected", "failed", "revoked"] as const;
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

/** The largest result sequence: both partners store it in a Postgres integer. */
export const MAX_RESULT_SEQUENCE = 2_147_483_647;

export const importResultPayloadSchema = z.object({
  share_id: text(128),
  outcome: z.enum(IMPORT_OUTCOMES),
  // 1, 2, 3 … per import, in the order the recipient emitted its results: the sharer applies a
  // result only when its sequence is above the last one it applied, so a replayed or older sealed
  // result can neither roll the share back nor be applied twice.
  sequence: z.number().int().positive().max(MAX_RESULT_SEQUENCE),
  import_id: text(128).optional(),
  session_status: text(64).optional(),
  reason: text(1024).optional(),
  shared_from_session: text(128).optional(),
  /** Set once partner-b has taken the sharer's revocation: the sharer stops re-sending it. */
  consent_withdrawn_at: isoInstant.optional(),
  at: isoInstant,
  trace: traceContextSchema.optional(),
});
export type ImportResultPayload = z.infer<typeof importResultPayloadSchema>;

export const payloadSchemas = {
  "share-offer": shareOfferPayloadSchema,
  "import-result": importResultPayloadSchema,
  "share-revoke": shareRevokePayloadSchema,
} as const satisfies Record<EnvelopeType, z.ZodType>;

export interface PayloadByType {
  "share-offer": ShareOfferPayload;
  "import-result": ImportResultPayload;
  "share-revoke": ShareRevokePayload;
}

/** Registered claims every envelope carries, signed by the sender. Times are epoch seconds. */
export interface EnvelopeClaimsBase {
  /** Sender partner id. */
  iss: string;
  /** Receiver partner id. */
  aud: string;
  /** Business id of the message (the share id), also the queue job id. */
  jti: string;
  iat: number;
  exp: number;
}

export type ClaimsOf<T extends EnvelopeType> = T extends EnvelopeType
  ? EnvelopeClaimsBase & { typ: T; payload: PayloadByType[T] }
  : never;

export type EnvelopeClaims = ClaimsOf<EnvelopeType>;

/** The outer claim set as it arrives; the payload is checked separately, once `typ` is trusted. */
export const envelopeClaimsSchema = z.object({
  iss: text(128),
  aud: text(128),
  jti: text(128),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
  typ: text(64),
  payload: z.record(z.string(), z.unknown()),
});
