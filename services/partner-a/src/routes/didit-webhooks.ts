import { errorBodySchema, webhookAnswerSchema } from "@share-broker/contracts";
import { verifyWebhook, webhookEventKey, webhookRejectionAnswer } from "@share-broker/didit";
import { answerError, registerRawBodyRoute, WEBHOOK_BODY_LIMIT_BYTES } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { applySessionEvent } from "../verifications/apply-session-event.js";

/** Didit's signed webhooks: verified over the raw bytes before anything is trusted. */
export async function diditWebhookRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  await registerRawBodyRoute(app, {
    url: "/v1/webhooks/didit",
    summary: "Didit session webhooks, signed with the webhook secret",
    tags: ["webhooks"],
    bodyLimitBytes: WEBHOOK_BODY_LIMIT_BYTES,
    rateLimitPerMinute: ctx.config.WEBHOOK_RATE_LIMIT_PER_MINUTE,
    response: { 200: webhookAnswerSchema, "4xx": errorBodySchema },
    handler: async (rawBody, request) => {
      const nowSeconds = Math.floor(ctx.clock.now().getTime() / 1000);
      const verification = verifyWebhook(
        rawBody,
        request.headers,
        ctx.config.DIDIT_WEBHOOK_SECRET,
        nowSeconds,
      );
      if (!verification.ok) throw answerError(webhookRejectionAnswer(verification.reason));
      const event = verification.event;
      const outcome = await applySessionEvent(ctx.db, ctx.audit, event, request.id);
      request.log.info(
        {
          event_key: webhookEventKey(event),
          webhook_type: event.webhook_type,
          session_id: event.session_id,
          session_status: event.status,
          outcome,
        },
        "didit webhook",
      );
      return { status: outcome };
    },
  });
}
