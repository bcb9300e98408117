import type { FastifyInstance } from "fastify";
import type { SandboxContext } from "../context.js";
import { decisionBody } from "../decision.js";
import { notFound } from "../drf-errors.js";
import { isUuid } from "../field-validation.js";
import { callerOf, diditRoute } from "./didit-api.js";

/**
 * `GET /v3/session/{id}/decision/` (docs/DIDIT.md#decision-update-status-list-delete); another application's
 * session is a 404.
 */
export function registerDecisionRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.get<{ Params: { sessionId: string } }>(
    "/session/:sessionId/decision/",
    diditRoute("decision"),
    async (request) => {
      const application = callerOf(request);
      const { sessionId } = request.params;
      const session = isUuid(sessionId)
        ? ctx.store.getOwned(sessionId, application.application_id)
        : undefined;
      if (!session) throw notFound();
      return decisionBody(session);
    },
  );
}
