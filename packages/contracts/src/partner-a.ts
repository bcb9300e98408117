import { z } from "zod";
import { auditEventBaseSchema, PARTNER_A_AUDIT_ACTIONS } from "./audit.js";
import {
  allErrors,
  clientErrors,
  idParamsSchema,
  idSchema,
  listAuditOperation,
  nextCursorSchema,
  nullableTimestamp,
  operation,
  pageLimit,
  sequenceCursorSchema,
  timestampSchema,
} from "./common.js";
import { userErasedSchema } from "./erasure.js";
import { linkCodeSchema } from "./link-requests.js";
import { SHARE_STATES } from "./states.js";

/** partner-a, the sharer: verifies its users with Didit and shares them with consent. */

export const PURPOSES = ["onboarding", "lending", "payments", "other"] as const;
export const SCOPES = ["kyc", "kyc+aml", "kyc+kyb"] as const;
export type Purpose = (typeof PURPOSES)[number];
export type Scope = (typeof SCOPES)[number];
export const VERIFICATION_KINDS = ["first", "reauth"] as const;
export const MAX_CONSENT_SECONDS = 2 * 366 * 86_400;
export const MAX_EVIDENCE_PROPERTIES = 32;

const userIdSchema = z.string().min(1).max(256).describe("partner-a's own id of the user.");
const EXAMPLE_USER = "user-4711";
const EXAMPLE_CONSENT = "7f1d2c3b-5a6e-4f70-8a91-b2c3d4e5f607";
const EXAMPLE_SHARE = "0b6f3a52-9d1e-4c7a-8e25-3f4a5b6c7d8e";
const EXAMPLE_SESSION = "11111111-2222-4333-8444-555555555555";
const EXAMPLE_TIME = "2026-12-05T10:00:00.000Z";

// Verifications ---------------------------------------------------------------------------------

export const createVerificationBody = z
  .strictObject({ user_id: userIdSchema, kind: z.enum(VERIFICATION_KINDS) })
  .meta({ examples: [{ user_id: EXAMPLE_USER, kind: "first" }] });

export const verificationCreatedSchema = z
  .object({ session_id: z.string(), url: z.string(), status: z.string(), workflow_id: z.string() })
  .meta({
    id: "VerificationCreated",
    examples: [
      {
        session_id: EXAMPLE_SESSION,
        url: "https://verify.didit.me/session/abc",
        status: "Not Started",
        workflow_id: "wf-first",
      },
    ],
  });

export const userVerificationSchema = z
  .object({ user_id: z.string(), session_id: z.string(), status: z.string(), updated_at: timestampSchema })
  .meta({
    id: "UserVerification",
    examples: [
      { user_id: EXAMPLE_USER, session_id: EXAMPLE_SESSION, status: "Approved", updated_at: EXAMPLE_TIME },
    ],
  });

// Consents --------------------------------------------------------------------------------------

export const createConsentBody = z
  .strictObject({
    user_id: userIdSchema,
    audience: z.string().min(1).max(64).describe("The partner id the user agreed to share with."),
    purpose: z.enum(PURPOSES),
    scope: z.enum(SCOPES),
    link_code: linkCodeSchema.describe(
      "The code the user brings from the audience (its link request): carried in the share offer, never shown again.",
    ),
    expires_in: z.number().int().min(60).max(MAX_CONSENT_SECONDS).optional().describe("Seconds."),
    evidence: z
      .record(z.string(), z.unknown())
      .refine((value) => Object.keys(value).length <= MAX_EVIDENCE_PROPERTIES, {
        message: `at most ${MAX_EVIDENCE_PROPERTIES} properties`,
      })
      .optional()
      .describe("How the user consented (at most 32 properties, 8 KiB of JSON)."),
  })
  .meta({
    examples: [
      {
        user_id: EXAMPLE_USER,
        audience: "partner-b",
        purpose: "onboarding",
        scope: "kyc",
        link_code: "q3Zr8Kx1vN0bT6yW2mLcH9sD4fGjP7aE5uQiV0oXk1M",
        expires_in: 86_400,
        evidence: { channel: "web", text_version: "2026-11" },
      },
    ],
  });

export const consentSchema = z
  .object({
    consent_id: idSchema,
    user_id: z.string(),
    audience: z.string(),
    purpose: z.enum(PURPOSES),
    scope: z.enum(SCOPES),
    evidence: z.record(z.string(), z.unknown()),
    granted_at: timestampSchema,
    expires_at: timestampSchema,
    withdrawn_at: nullableTimestamp,
    cancelled_share_ids: z
      .array(idSchema)
      .optional()
      .describe("On withdrawal: the shares this withdrawal cancelled before their token left partner-a."),
    revoked_share_ids: z
      .array(idSchema)
      .optional()
      .describe(
        "On withdrawal: the shares whose token had already left, now revoked at the recipient (a share it had already imported keeps status imported and gets revoked_at).",
      ),
  })
  .meta({
    id: "Consent",
    examples: [
      {
        consent_id: EXAMPLE_CONSENT,
        user_id: EXAMPLE_USER,
        audience: "partner-b",
        purpose: "onboarding",
        scope: "kyc",
        evidence: { channel: "web" },
        granted_at: EXAMPLE_TIME,
        expires_at: "2026-12-06T10:00:00.000Z",
        withdrawn_at: null,
      },
    ],
  });

// Shares ----------------------------------------------------------------------------------------

export const createShareBody = z
  .strictObject({
    consent_id: idSchema,
    ttl_seconds: z.number().int().min(60).max(86_400).optional().describe("Lifetime of the share token."),
  })
  .meta({ examples: [{ consent_id: EXAMPLE_CONSENT, ttl_seconds: 900 }] });

export const createShareHeaders = z.looseObject({
  "idempotency-key": z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("Replays of the same key and body answer the first share; another body is refused."),
});

export const shareAcceptedSchema = z
  .object({
    share_id: idSchema,
    status: z.enum(SHARE_STATES),
    audience: z.string(),
    expires_at: nullableTimestamp.describe("When the share token expires; null until it is minted."),
  })
  .meta({
    id: "ShareAccepted",
    examples: [{ share_id: EXAMPLE_SHARE, status: "accepted", audience: "partner-b", expires_at: null }],
  });

export const shareSchema = z
  .object({
    share_id: idSchema,
    user_id: z.string(),
    status: z.enum(SHARE_STATES),
    audience: z.string(),
    purpose: z.enum(PURPOSES),
    scope: z.enum(SCOPES),
    consent_id: idSchema,
    reason: z.string().nullable().describe("Why the share ended where it did, when not imported."),
    revoked_at: nullableTimestamp.describe(
      "When the consent's withdrawal or expiry revoked the share at its recipient; null if never.",
    ),
    expires_at: nullableTimestamp,
    created_at: timestampSchema,
    updated_at: timestampSchema,
    import: z
      .object({
        status: z.string(),
        session_status: z.string().nullable(),
        reason: z.string().nullable(),
        at: nullableTimestamp,
      })
      .nullable()
      .describe("What the recipient reported, once it has."),
  })
  .meta({
    id: "Share",
    examples: [
      {
        share_id: EXAMPLE_SHARE,
        user_id: EXAMPLE_USER,
        status: "imported",
        audience: "partner-b",
        purpose: "onboarding",
        scope: "kyc",
        consent_id: EXAMPLE_CONSENT,
        reason: null,
        revoked_at: null,
        expires_at: "2026-12-05T10:15:00.000Z",
        created_at: EXAMPLE_TIME,
        updated_at: "2026-12-05T10:00:02.000Z",
        import: {
          status: "imported",
          session_status: "Approved",
          reason: null,
          at: "2026-12-05T10:00:02.000Z",
        },
      },
    ],
  });

export const SHARE_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

export const listSharesQuery = z.strictObject({
  status: z.enum(SHARE_STATES).optional(),
  user_id: userIdSchema.optional(),
  cursor: z.string().regex(SHARE_CURSOR_PATTERN).optional().describe("The previous page's next_cursor."),
  limit: pageLimit(200),
});

export const shareListSchema = z
  .object({ shares: z.array(shareSchema), next_cursor: nextCursorSchema })
  .meta({ id: "ShareList", examples: [{ shares: [], next_cursor: null }] });

// Audit -----------------------------------------------------------------------------------------

export const partnerAAuditQuery = z.strictObject({
  user_id: userIdSchema.optional().describe("Matched through the user's pseudonym."),
  share_id: idSchema.optional(),
  cursor: sequenceCursorSchema.optional(),
  limit: pageLimit(500),
});

export const partnerAAuditEventSchema = auditEventBaseSchema.extend({
  action: z.enum(PARTNER_A_AUDIT_ACTIONS),
  audience: z.string().nullable(),
});
export type PartnerAAuditEvent = z.infer<typeof partnerAAuditEventSchema>;

export const partnerAAuditPageSchema = z
  .object({ events: z.array(partnerAAuditEventSchema), next_cursor: nextCursorSchema })
  .meta({
    id: "PartnerAAuditPage",
    examples: [
      {
        events: [
          {
            id: "42",
            occurred_at: EXAMPLE_TIME,
            action: "share.accepted",
            outcome: "accepted",
            user_pseudonym: "p_3f9a1c",
            audience: "partner-b",
            purpose: "onboarding",
            scope: "kyc",
            share_id: EXAMPLE_SHARE,
            token_id: null,
            token_expires_at: null,
            request_id: "req-1",
            principal: "operator",
            details: {},
          },
        ],
        next_cursor: null,
      },
    ],
  });

// Operations ------------------------------------------------------------------------------------

const userParams = z.strictObject({ user_id: userIdSchema });

export const partnerA = {
  createVerification: operation("POST", "/v1/verifications", {
    operationId: "createVerification",
    scope: "consents:write",
    summary: "Start a Didit verification session for a user",
    tags: ["verifications"],
    body: createVerificationBody,
    response: { 201: verificationCreatedSchema, ...allErrors },
  }),
  eraseUser: operation("DELETE", "/v1/users/:user_id", {
    operationId: "eraseUser",
    scope: "admin",
    summary:
      "Erase a user: withdraw their consents, delete their Didit sessions, anonymise every row that held their id",
    tags: ["users"],
    params: userParams,
    response: { 200: userErasedSchema, ...allErrors },
  }),
  getUserVerification: operation("GET", "/v1/users/:user_id/verification", {
    operationId: "getUserVerification",
    scope: "consents:read",
    summary: "The user's latest verification session",
    tags: ["verifications"],
    params: userParams,
    response: { 200: userVerificationSchema, ...clientErrors },
  }),
  grantConsent: operation("POST", "/v1/consents", {
    operationId: "grantConsent",
    scope: "consents:write",
    summary: "Record a user's consent to share with one partner, for one purpose and scope",
    tags: ["consents"],
    body: createConsentBody,
    response: { 201: consentSchema, ...clientErrors },
  }),
  getConsent: operation("GET", "/v1/consents/:id", {
    operationId: "getConsent",
    scope: "consents:read",
    summary: "A consent",
    tags: ["consents"],
    params: idParamsSchema,
    response: { 200: consentSchema, ...clientErrors },
  }),
  withdrawConsent: operation("DELETE", "/v1/consents/:id", {
    operationId: "withdrawConsent",
    scope: "consents:write",
    summary: "Withdraw a consent; shares not yet sent are cancelled",
    tags: ["consents"],
    params: idParamsSchema,
    response: { 200: consentSchema, ...clientErrors },
  }),
  listShares: operation("GET", "/v1/shares", {
    operationId: "listShares",
    scope: "shares:read",
    summary: "Shares, newest first",
    tags: ["shares"],
    querystring: listSharesQuery,
    response: { 200: shareListSchema, ...clientErrors },
  }),
  createShare: operation("POST", "/v1/shares", {
    operationId: "createShare",
    scope: "shares:write",
    summary: "Share a consented user's verification with the consent's audience",
    tags: ["shares"],
    headers: createShareHeaders,
    body: createShareBody,
    response: { 202: shareAcceptedSchema, ...clientErrors },
  }),
  getShare: operation("GET", "/v1/shares/:id", {
    operationId: "getShare",
    scope: "shares:read",
    summary: "A share and what its recipient reported",
    tags: ["shares"],
    params: idParamsSchema,
    response: { 200: shareSchema, ...clientErrors },
  }),
  listAudit: listAuditOperation(partnerAAuditQuery, partnerAAuditPageSchema),
} as const;

export type Consent = z.infer<typeof consentSchema>;
export type Share = z.infer<typeof shareSchema>;
export type ShareAccepted = z.infer<typeof shareAcceptedSchema>;
export type ShareList = z.infer<typeof shareListSchema>;
export type VerificationCreated = z.infer<typeof verificationCreatedSchema>;
export type PartnerAAuditPage = z.infer<typeof partnerAAuditPageSchema>;
export type CreateShareBody = z.infer<typeof createShareBody>;
export type CreateConsentBody = z.input<typeof createConsentBody>;
