import { isSessionEvent, verifyWebhook } from "@share-broker/didit";
import { AppError, errorBodySchema } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { applySessionEvent } from "../verifications/apply-session-event.js";

const REJECTIONS = {
  missing_signature: [401, "invalid_signature", "The webhook signature is missing."],
  invalid_signature: [401, "invalid_signature", "The webhook signature does not match."],
  stale_timestamp: [401, "stale_webhook", "The webhook timestamp is outside the 300 s window."],
  malformed_body: [400, "malformed_webhook", "The webhook body is not a Didit event."],
} as const;

/**
 * Didit's signed webhooks. Registered in its own encapsulated plugin whose JSON parser keeps the
 * raw bytes: the signature is checked over exactly what Didit sent, before anything is trusted.
 */
export async function diditWebhookRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  await app.register(async (scope) => {
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      "/v1/webhooks/didit",
      {
        config: { public: true },
        schema: {
          response: {
            200: { type: "object", properties: { status: { type: "string" } } },
            "4xx": errorBodySchema,
          },
        },
      },
      async (request) => {
        const verification = verifyWebhook(
          request.body as Buffer,
          request.headers,
          ctx.config.DIDIT_WEBHOOK_SECRET,
          Math.floor(ctx.clock.now().getTime() / 1000),
        );
        if (!verification.ok) {
          const [status, code, message] = REJECTIONS[verification.reason];
          throw new AppError(status, code, message);
        }
        const event = verification.event;
        if (!isSessionEvent(event)) return { status: "ignored" };
        const outcome = await applySessionEvent(ctx.db, ctx.audit, event, request.id);
        request.log.info(
          { event_id: event.event_id, session_id: event.session_id, session_status: event.status, outcome },
          "didit webhook",
        );
        return { status: outcome };
      },
    );
  });
}
