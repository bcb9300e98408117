import { isShareable } from "@share-broker/didit";
import type { FastifyInstance } from "fastify";
import type { SandboxContext } from "../context.js";
import { bodyObject, detailError, FieldErrors, notFound } from "../drf-errors.js";
import { isUuid, readInteger, readUuid } from "../field-validation.js";
import { callerOf, diditRoute } from "./didit-api.js";

export const SHARE_TTL = { default: 3600, min: 60, max: 86_400 } as const;

/**
 * `POST /v3/session/{id}/share/` → 200 (docs/DIDIT.md#share-a-session). Checks, in order: the session exists
 * for the caller (404), the body (400 per field), the session is finished (400).
 */
export function registerShareRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post<{ Params: { sessionId: string } }>(
    "/session/:sessionId/share/",
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
      const forApplicationId = readUuid(body, "for_application_id", errors, { required: true });
      const ttl = readInteger(body, "ttl_in_seconds", errors, { min: SHARE_TTL.min, max: SHARE_TTL.max });
      if (forApplicationId !== undefined) {
        const receiver = ctx.applications.byId(forApplicationId);
        if (!receiver || receiver.deleted) {
          errors.add("for_application_id", `Application "${forApplicationId}" does not exist.`);
        } else if (receiver.application_id === application.application_id) {
          errors.add("for_application_id", "A session cannot be shared with its own application.");
        }
      }
      errors.throwIfAny();
      if (!isShareable(session.status)) {
        throw detailError(
          400,
          `Only finished sessions (Approved, Declined or In Review) can be shared. This session is ${session.status}.`,
        );
      }

      const receiver = ctx.applications.byId(forApplicationId as string);
      const shareToken = ctx.shareTokens.mint(
        {
          session_id: session.session_id,
          session_kind: session.session_kind,
          from_application_id: application.application_id,
          for_application_id: receiver?.application_id as string,
        },
        ttl ?? SHARE_TTL.default,
        ctx.clock.nowSeconds(),
      );
      return {
        share_token: shareToken,
        for_application_id: receiver?.application_id,
        session_kind: session.session_kind,
      };
    },
  );
}
