import { z } from "zod";
import { nullableTimestamp, timestampSchema } from "./common.js";

/**
 * Every audit action each partner records. `GET /v1/audit` answers with these; compliance tooling
 * filters on them, so an action is never renamed.
 */
export const PARTNER_A_AUDIT_ACTIONS = [
  "verification.created",
  "verification.status_changed",
  "consent.granted",
  "consent.withdrawn",
  "share.accepted",
  "share.refused",
  "share.minted",
  "share.sent",
  "share.redriven",
  "share.redrive_scheduled",
  "share.failed",
  "share.cancelled",
  "share.revoked",
  "share.revoke_sent",
  "share.expired",
  "share.result",
  "share.result_late",
  "share.result_ignored",
  "share.result_rejected",
  "share.result_replayed",
  "result.dead_lettered",
  "user.erased",
] as const;
export type PartnerAAuditAction = (typeof PARTNER_A_AUDIT_ACTIONS)[number];

export const PARTNER_B_AUDIT_ACTIONS = [
  "link_request.created",
  "import.received",
  "import.replayed",
  "import.imported",
  "import.rejected",
  "import.failed",
  "import.retry_scheduled",
  "import.session_status_changed",
  "import.review_requested",
  "import.review_failed",
  "import.revoked",
  "import.consent_withdrawn",
  "import.revoked_copy_deleted",
  "envelope.dead_lettered",
  "result.sent",
  "result.dead_lettered",
  "import.erased",
] as const;
export type PartnerBAuditAction = (typeof PARTNER_B_AUDIT_ACTIONS)[number];

const nullableText = z.string().nullable();

/**
 * The fields both partners' audit events carry. Each partner extends it with its own action list
 * and the columns only it has (partner-a the audience, partner-b the source partner and import).
 */
export const auditEventBaseSchema = z.object({
  id: z.string().describe("Append-only sequence number, as a string."),
  occurred_at: timestampSchema,
  outcome: z.string(),
  user_pseudonym: nullableText,
  purpose: nullableText,
  scope: nullableText,
  share_id: nullableText,
  token_id: nullableText,
  token_expires_at: nullableTimestamp,
  request_id: nullableText,
  principal: nullableText.describe(
    "Name of the API principal whose request caused the event; null for background work and signed webhooks.",
  ),
  details: z.record(z.string(), z.unknown()),
});
