import type { FastifyInstance } from "fastify";
import type { SandboxContext } from "../context.js";
import { notFound } from "../drf-errors.js";
import { isUuid } from "../field-validation.js";
import { callerOf, diditRoute } from "./didit-api.js";

/**
 * `DELETE /v3/session/{id}/delete/` → 204 (docs/DIDIT.md#decision-update-status-list-delete). Deleting an
 * imported copy frees its (source session, receiving application) pair for another import
 * (docs/DIDIT.md#what-the-sandbox-assumes).
 */
export function registerDeleteRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.delete<{ Params: { sessionId: string } }>(
    "/session/:sessionId/delete/",
    diditRoute("write"),
    async (request, reply) => {
      const application = callerOf(request);
      const { sessionId } = request.params;
      const session = isUuid(sessionId)
        ? ctx.store.getOwned(sessionId, application.application_id)
        : undefined;
      if (!session) throw notFound();
      ctx.store.delete(session.session_id);
      return reply.code(204).send();
    },
  );
}
