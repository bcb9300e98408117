import type { UpdatableSessionStatus } from "@share-broker/didit";
import type { FastifyInstance } from "fastify";
import type { SandboxContext } from "../context.js";
import { bodyObject, detailError, FieldErrors, notFound } from "../drf-errors.js";
import { isUuid, readBoolean, readChoice, readEmail, readList, readString } from "../field-validation.js";
import { callerOf, diditRoute } from "./didit-api.js";

const TARGETS: readonly UpdatableSessionStatus[] = ["Approved", "Declined", "Resubmitted"];
/** Statuses update-status may move a session out of (docs/DIDIT.md#decision-update-status-list-delete). */
const UPDATABLE_FROM = new Set([
  "Approved",
  "Declined",
  "In Review",
  "Kyc Expired",
  "Abandoned",
  "Resubmitted",
]);
const RESUBMITTABLE_FROM = new Set(["Declined", "In Review", "Abandoned"]);

/**
 * `PATCH /v3/session/{id}/update-status/` → 200 (docs/DIDIT.md#decision-update-status-list-delete); a change
 * emits `status.updated`.
 */
export function registerUpdateStatusRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.patch<{ Params: { sessionId: string } }>(
    "/session/:sessionId/update-status/",
    diditRoute("write"),
    async (request) => {
      const application = callerOf(request);
      const { sessionId } = request.params;
      const session = isUuid(sessionId)
        ? ctx.store.getOwned(sessionId, application.application_id)
        : undefined;
      if (!session) throw notFound();

      const body = bodyObject(request.body);
      const errors = new FieldErrors();
      const newStatus = readChoice(body, "new_status", errors, TARGETS, { required: true });
      readString(body, "comment", errors, { allowNull: true, maxLength: 5000 });
      const sendEmail = readBoolean(body, "send_email", errors);
      const emailAddress = readEmail(body, "email_address", errors, { allowNull: true });
      readString(body, "email_language", errors, { maxLength: 10 });
      const nodes = readList(body, "nodes_to_resubmit", errors);
      if (
        nodes?.some(
          (node) =>
            typeof node !== "object" ||
            node === null ||
            typeof (node as Record<string, unknown>).node_id !== "string" ||
            typeof (node as Record<string, unknown>).feature !== "string",
        )
      ) {
        errors.add("nodes_to_resubmit", "Each item needs a node_id and a feature.");
      }
      if (sendEmail === true && !emailAddress && !errors.has("email_address")) {
        errors.add("email_address", "This field is required when send_email is true.");
      }
      errors.throwIfAny();

      if (!UPDATABLE_FROM.has(session.status)) {
        throw detailError(400, `The status of a session in status "${session.status}" cannot be updated.`);
      }
      if (newStatus === "Resubmitted" && !RESUBMITTABLE_FROM.has(session.status)) {
        throw detailError(
          400,
          `Only Declined, In Review or Abandoned sessions can be resubmitted; this session is ${session.status}.`,
        );
      }
      ctx.lifecycle.changeStatus(session, newStatus as UpdatableSessionStatus);
      return { session_id: session.session_id, session_kind: session.session_kind };
    },
  );
}
