import { z } from "zod";
import { idSchema, timestampSchema } from "./common.js";

/**
 * Answers of the erasure operations (docs/OPERATIONS.md#erasure-request). Neither carries the user
 * id: after an erasure only the keyed pseudonym remains, in the answer as in the audit trail.
 */

export const userErasedSchema = z
  .object({
    user_pseudonym: z.string().describe("The keyed pseudonym the user's audit trail is kept under."),
    withdrawn_consent_ids: z
      .array(idSchema)
      .describe("Consents this erasure withdrew (those already withdrawn are not listed)."),
    deleted_sessions: z
      .array(idSchema)
      .describe("partner-a's Didit sessions of the user, deleted at Didit (or already gone there)."),
    anonymised: z
      .object({
        consents: z.number().int(),
        shares: z.number().int(),
        verification_sessions: z.number().int(),
      })
      .describe("Rows that held the user id or consent evidence, now holding neither."),
    erased_at: timestampSchema,
  })
  .meta({
    id: "UserErased",
    examples: [
      {
        user_pseudonym: "u_3f9a1c0b7d2e4a5b6c7d8e",
        withdrawn_consent_ids: ["7f1d2c3b-5a6e-4f70-8a91-b2c3d4e5f607"],
        deleted_sessions: ["11111111-2222-4333-8444-555555555555"],
        anonymised: { consents: 1, shares: 2, verification_sessions: 1 },
        erased_at: "2026-12-05T10:00:00.000Z",
      },
    ],
  });
export type UserErased = z.infer<typeof userErasedSchema>;

export const importErasedSchema = z
  .object({
    import_id: idSchema,
    status: z.string().describe("The import's final state, kept: the sharer's result depends on it."),
    deleted_didit_session: idSchema
      .nullable()
      .describe("partner-b's Didit copy, deleted at Didit (or already gone there); null when it had none."),
    erased_at: timestampSchema.describe("When the import was first erased; a repeat answers the same."),
  })
  .meta({
    id: "ImportErased",
    examples: [
      {
        import_id: "5e4d3c2b-1a09-4876-9543-210fedcba987",
        status: "imported",
        deleted_didit_session: "22222222-3333-4444-8555-666666666666",
        erased_at: "2026-12-05T10:00:00.000Z",
      },
    ],
  });
export type ImportErased = z.infer<typeof importErasedSchema>;
