import { AppError, errorBodySchema } from "@share-broker/service-kit";
import { eq } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { shares } from "../db/schema/index.js";
import { acceptShare, type ShareRequest } from "../shares/accept-share.js";
import { shareView, shareViewSchema } from "../shares/share-view.js";

export async function shareRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  app.post(
    "/v1/shares",
    {
      schema: {
        headers: {
          type: "object",
          properties: { "idempotency-key": { type: "string", minLength: 1, maxLength: 200 } },
        },
        body: {
          type: "object",
          required: ["consent_id"],
          additionalProperties: false,
          properties: {
            consent_id: { type: "string", format: "uuid" },
            recipient_ref: { type: "string", minLength: 1, maxLength: 256 },
            ttl_seconds: { type: "integer", minimum: 60, maximum: 86_400 },
          },
        },
        response: {
          202: {
            type: "object",
            properties: {
              share_id: { type: "string" },
              status: { type: "string" },
              audience: { type: "string" },
              expires_at: { type: ["string", "null"] },
            },
          },
          "4xx": errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { share, replayed } = await acceptShare(ctx.db, ctx.audit, {
        request: request.body as ShareRequest,
        idempotencyKey: request.headers["idempotency-key"] as string | undefined,
        requestId: request.id,
        defaultTtlSeconds: ctx.config.SHARE_TTL_SECONDS,
        now: ctx.clock.now(),
      });
      if (!replayed) ctx.dispatcher.wake();
      request.log.info({ share_id: share.shareId, replayed }, "share accepted");
      return reply.code(202).send({
        share_id: share.shareId,
        status: share.status,
        audience: share.audience,
        expires_at: share.tokenExpiresAt ? share.tokenExpiresAt.toISOString() : null,
      });
    },
  );

  app.get(
    "/v1/shares/:id",
    {
      schema: {
        params: { type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" } } },
        response: { 200: shareViewSchema, "4xx": errorBodySchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const [row] = await ctx.db.select().from(shares).where(eq(shares.shareId, id));
      if (!row) throw new AppError(404, "share_not_found", "No share with this id.");
      return shareView(row);
    },
  );
}
