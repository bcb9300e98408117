import { z } from "zod";
import { auditEventBaseSchema, PARTNER_B_AUDIT_ACTIONS } from "./audit.js";
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
import { importErasedSchema } from "./erasure.js";
import { LINK_REQUEST_STATES, linkCodeSchema } from "./link-requests.js";
import { IMPORT_STATES } from "./states.js";

/** partner-b, the recipient: imports shared verifications under its own policy. */

export const REVIEW_DECISIONS = ["Approved", "Declined"] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

const EXAMPLE_IMPORT = "5e4d3c2b-1a09-4876-9543-210fedcba987";
const EXAMPLE_SHARE = "0b6f3a52-9d1e-4c7a-8e25-3f4a5b6c7d8e";
const EXAMPLE_WORKFLOW = "8c1e5f4a-2b3d-4c6e-9f70-1a2b3c4d5e6f";
const EXAMPLE_TIME = "2026-12-05T10:00:01.000Z";
const EXAMPLE_LINK = "3a9c7e1f-6b2d-4e8a-9c05-7d1e2f3a4b5c";
const EXAMPLE_CODE = "q3Zr8Kx1vN0bT6yW2mLcH9sD4fGjP7aE5uQiV0oXk1M";
const partnerIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
  .describe("A partner id of the registry.");

// Link requests ---------------------------------------------------------------------------------

export const createLinkRequestBody = z
  .strictObject({
    user_ref: z
      .string()
      .min(1)
      .max(256)
      .describe(
        "partner-b's own reference of the user; an import redeeming the code gets it as vendor_data.",
      ),
    source: partnerIdSchema.optional().describe("Only this sharing partner may redeem the code."),
  })
  .meta({ examples: [{ user_ref: "applicant-9", source: "partner-a" }] });

export const linkRequestCreatedSchema = z
  .object({
    link_id: idSchema,
    code: linkCodeSchema.describe("Single use; shown once: partner-b keeps only its hash."),
    expires_at: timestampSchema,
  })
  .meta({
    id: "LinkRequestCreated",
    examples: [{ link_id: EXAMPLE_LINK, code: EXAMPLE_CODE, expires_at: "2026-12-05T10:30:00.000Z" }],
  });

export const linkRequestSchema = z
  .object({
    link_id: idSchema,
    user_ref: z.string(),
    source: z.string().nullable().describe("The only partner that may redeem it; null: any."),
    status: z.enum(LINK_REQUEST_STATES),
    created_at: timestampSchema,
    expires_at: timestampSchema,
    used_at: nullableTimestamp,
    import_id: idSchema.nullable().describe("The import that redeemed the code, once used."),
  })
  .meta({
    id: "LinkRequest",
    examples: [
      {
        link_id: EXAMPLE_LINK,
        user_ref: "applicant-9",
        source: "partner-a",
        status: "used",
        created_at: "2026-12-05T10:00:00.000Z",
        expires_at: "2026-12-05T10:30:00.000Z",
        used_at: EXAMPLE_TIME,
        import_id: EXAMPLE_IMPORT,
      },
    ],
  });

// Imports ---------------------------------------------------------------------------------------

export const importSchema = z
  .object({
    import_id: idSchema,
    share_id: z.string(),
    source: z.string().describe("The sharing partner's id."),
    status: z.enum(IMPORT_STATES),
    reason: z.string().nullable(),
    vendor_data: z
      .string()
      .nullable()
      .describe(
        "partner-b's own reference of the imported user: its link request's user_ref; null when refused.",
      ),
    link_id: idSchema
      .nullable()
      .describe("The link request this import redeemed; null when its code was refused."),
    user_pseudonym: z.string().nullable(),
    purpose: z.string().nullable(),
    scope: z.string().nullable(),
    session_kind: z.string().nullable(),
    token_id: z.string(),
    token_expires_at: timestampSchema,
    policy: z
      .object({
        version: z.string().nullable(),
        workflow_id: z.string().nullable(),
        trust_review: z.boolean().nullable(),
      })
      .nullable(),
    didit: z
      .object({
        session_id: z.string(),
        status: z.string().nullable(),
        shared_from_session: z.string().nullable(),
      })
      .nullable(),
    review: z.object({ decision: z.enum(REVIEW_DECISIONS), requested_at: nullableTimestamp }).nullable(),
    consent_withdrawn_at: nullableTimestamp.describe(
      "When the sharer revoked the share after this import finished: the user withdrew the consent behind it.",
    ),
    attempts: z.number().int(),
    received_at: timestampSchema,
    decided_at: nullableTimestamp,
    erased_at: nullableTimestamp.describe("When DELETE /v1/imports/{id} erased it; null otherwise."),
    updated_at: timestampSchema,
  })
  .meta({
    id: "Import",
    examples: [
      {
        import_id: EXAMPLE_IMPORT,
        share_id: EXAMPLE_SHARE,
        source: "partner-a",
        status: "imported",
        reason: null,
        vendor_data: "applicant-9",
        link_id: EXAMPLE_LINK,
        user_pseudonym: "p_3f9a1c",
        purpose: "onboarding",
        scope: "kyc",
        session_kind: "user",
        token_id: "tok_5f2a",
        token_expires_at: "2026-12-05T10:15:00.000Z",
        policy: { version: "2026-12", workflow_id: EXAMPLE_WORKFLOW, trust_review: true },
        didit: {
          session_id: "22222222-3333-4444-8555-666666666666",
          status: "Approved",
          shared_from_session: null,
        },
        review: null,
        consent_withdrawn_at: null,
        attempts: 1,
        received_at: EXAMPLE_TIME,
        decided_at: "2026-12-05T10:00:02.000Z",
        erased_at: null,
        updated_at: "2026-12-05T10:00:02.000Z",
      },
    ],
  });

export const listImportsQuery = z.strictObject({
  vendor_data: z.string().min(1).max(1000).optional(),
  source: z.string().min(1).max(128).optional(),
  status: z.enum(IMPORT_STATES).optional(),
  share_id: z.string().min(1).max(128).optional(),
  cursor: sequenceCursorSchema.optional(),
  limit: pageLimit(200),
});

export const importListSchema = z
  .object({ imports: z.array(importSchema), next_cursor: nextCursorSchema })
  .meta({ id: "ImportList", examples: [{ imports: [], next_cursor: null }] });

export const reviewBody = z
  .strictObject({ decision: z.enum(REVIEW_DECISIONS), comment: z.string().min(1).max(2000).optional() })
  .meta({ examples: [{ decision: "Approved", comment: "Documents checked by compliance." }] });

export const reviewAcceptedSchema = z
  .object({
    import_id: idSchema,
    decision: z.enum(REVIEW_DECISIONS),
    didit_status: z.string().nullable().describe("Didit's status now; the decided one arrives by webhook."),
  })
  .meta({
    id: "ReviewAccepted",
    examples: [{ import_id: EXAMPLE_IMPORT, decision: "Approved", didit_status: "In Review" }],
  });

// Policy ----------------------------------------------------------------------------------------

const policyDecisionSchema = z.object({ workflow_id: z.uuid(), trust_review: z.boolean() });

/** partner-b's import policy: its policy file, and the answer of `GET /v1/policies`. */
export const importPolicySchema = z
  .object({
    version: z.string().min(1).max(100),
    description: z.string().optional(),
    default: policyDecisionSchema.nullable().describe("What applies when no rule matches; null refuses."),
    rules: z.array(
      policyDecisionSchema.extend({
        source: z.string().min(1).describe("The sharing partner's id, as in the partner registry."),
        scope: z
          .string()
          .min(1)
          .describe('The consent scope the offer carries, compared exactly ("kyc", "kyc+aml").'),
      }),
    ),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    for (const [index, rule] of file.rules.entries()) {
      const key = JSON.stringify([rule.source, rule.scope]);
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index],
          message: `a second rule for source "${rule.source}" and scope "${rule.scope}"`,
        });
      }
      seen.add(key);
    }
  })
  .meta({
    id: "ImportPolicy",
    examples: [
      {
        version: "2026-12",
        description: "Trust partner-a's KYC reviews; review everything else.",
        default: null,
        rules: [{ source: "partner-a", scope: "kyc", workflow_id: EXAMPLE_WORKFLOW, trust_review: true }],
      },
    ],
  });

// Audit -----------------------------------------------------------------------------------------

export const partnerBAuditQuery = z.strictObject({
  user_pseudonym: z.string().min(1).max(256).optional(),
  share_id: z.string().min(1).max(128).optional(),
  import_id: idSchema.optional(),
  action: z.enum(PARTNER_B_AUDIT_ACTIONS).optional(),
  cursor: sequenceCursorSchema.optional(),
  limit: pageLimit(500),
});

export const partnerBAuditEventSchema = auditEventBaseSchema.extend({
  action: z.enum(PARTNER_B_AUDIT_ACTIONS),
  source_partner: z.string().nullable(),
  import_id: z.string().nullable(),
});
export type PartnerBAuditEvent = z.infer<typeof partnerBAuditEventSchema>;

export const partnerBAuditPageSchema = z
  .object({ events: z.array(partnerBAuditEventSchema), next_cursor: nextCursorSchema })
  .meta({
    id: "PartnerBAuditPage",
    examples: [
      {
        events: [
          {
            id: "7",
            occurred_at: EXAMPLE_TIME,
            action: "import.imported",
            outcome: "Approved",
            user_pseudonym: "p_3f9a1c",
            source_partner: "partner-a",
            purpose: "onboarding",
            scope: "kyc",
            share_id: EXAMPLE_SHARE,
            import_id: EXAMPLE_IMPORT,
            token_id: "tok_5f2a",
            token_expires_at: "2026-12-05T10:15:00.000Z",
            request_id: null,
            principal: null,
            details: {},
          },
        ],
        next_cursor: null,
      },
    ],
  });

// Operations ------------------------------------------------------------------------------------

export const partnerB = {
  createLinkRequest: operation("POST", "/v1/link-requests", {
    operationId: "createLinkRequest",
    scope: "links:write",
    summary: "Issue a single-use link code for one of partner-b's users",
    tags: ["link-requests"],
    body: createLinkRequestBody,
    response: { 201: linkRequestCreatedSchema, ...clientErrors },
  }),
  getLinkRequest: operation("GET", "/v1/link-requests/:id", {
    operationId: "getLinkRequest",
    scope: "imports:read",
    summary: "A link request and whether its code is open, used or expired",
    tags: ["link-requests"],
    params: idParamsSchema,
    response: { 200: linkRequestSchema, ...clientErrors },
  }),
  listImports: operation("GET", "/v1/imports", {
    operationId: "listImports",
    scope: "imports:read",
    summary: "Imports, newest first",
    tags: ["imports"],
    querystring: listImportsQuery,
    response: { 200: importListSchema, ...clientErrors },
  }),
  getImport: operation("GET", "/v1/imports/:id", {
    operationId: "getImport",
    scope: "imports:read",
    summary: "An import",
    tags: ["imports"],
    params: idParamsSchema,
    response: { 200: importSchema, ...clientErrors },
  }),
  reviewImport: operation("POST", "/v1/imports/:id/review", {
    operationId: "reviewImport",
    scope: "imports:review",
    summary: "Send a compliance decision on an import that landed In Review",
    tags: ["imports"],
    params: idParamsSchema,
    body: reviewBody,
    response: { 202: reviewAcceptedSchema, ...allErrors },
  }),
  eraseImport: operation("DELETE", "/v1/imports/:id", {
    operationId: "eraseImport",
    scope: "admin",
    summary: "Erase an import: delete its Didit copy and anonymise the row (not while in flight)",
    tags: ["imports"],
    params: idParamsSchema,
    response: { 200: importErasedSchema, ...allErrors },
  }),
  getPolicy: operation("GET", "/v1/policies", {
    operationId: "getImportPolicy",
    scope: "imports:read",
    summary: "The import policy in force",
    tags: ["policies"],
    response: { 200: importPolicySchema },
  }),
  listAudit: listAuditOperation(partnerBAuditQuery, partnerBAuditPageSchema),
} as const;

export type Import = z.infer<typeof importSchema>;
export type LinkRequestCreated = z.infer<typeof linkRequestCreatedSchema>;
export type LinkRequest = z.infer<typeof linkRequestSchema>;
export type ImportList = z.infer<typeof importListSchema>;
export type ImportPolicy = z.infer<typeof importPolicySchema>;
export type PartnerBAuditPage = z.infer<typeof partnerBAuditPageSchema>;
export type ReviewAccepted = z.infer<typeof reviewAcceptedSchema>;
