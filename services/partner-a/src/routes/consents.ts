import { randomUUID } from "node:crypto";
import { AppError, errorBodySchema } from "@share-broker/service-kit";
import { eq } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import { consentView, consentViewSchema, PURPOSES, SCOPES } from "../consents/consent-view.js";
import { withdrawConsent } from "../consents/withdraw-consent.js";
import type { PartnerAContext } from "../context.js";
import { consents } from "../db/schema/index.js";

const MAX_CONSENT_SECONDS = 2 * 366 * 86_400;
const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;

export async function consentRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  app.post(
    "/v1/consents",
    {
      schema: {
        body: {
          type: "object",
          required: ["user_id", "audience", "purpose", "scope"],
          additionalProperties: false,
          properties: {
            user_id: { type: "string", minLength: 1, maxLength: 256 },
            audience: { type: "string", minLength: 1, maxLength: 64 },
            purpose: { type: "string", enum: [...PURPOSES] },
            scope: { type: "string", enum: [...SCOPES] },
            expires_in: { type: "integer", minimum: 60, maximum: MAX_CONSENT_SECONDS },
            evidence: { type: "object", maxProperties: 32, additionalProperties: true },
          },
        },
        response: { 201: consentViewSchema, "4xx": errorBodySchema },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        user_id: string;
        audience: string;
        purpose: string;
        scope: string;
        expires_in?: number;
        evidence?: Record<string, unknown>;
      };
      if (body.audience === ctx.config.PARTNER_ID || !ctx.registry.find(body.audience)) {
        throw new AppError(
          400,
          "unknown_audience",
          `"${body.audience}" is not a configured partner to share with.`,
        );
      }
      if (JSON.stringify(body.evidence ?? {}).length > 8192) {
        throw new AppError(400, "validation_failed", "evidence must be at most 8 KiB of JSON.");
      }
      const lifetime = body.expires_in ?? ctx.config.CONSENT_TTL_SECONDS;
      const now = ctx.clock.now();
      const row = await ctx.db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(consents)
          .values({
            consentId: randomUUID(),
            userId: body.user_id,
            userPseudonym: ctx.pseudonyms.of(body.user_id),
            audience: body.audience,
            purpose: body.purpose,
            scope: body.scope,
            evidence: body.evidence ?? {},
            grantedAt: now,
            expiresAt: new Date(now.getTime() + lifetime * 1000),
          })
          .returning();
        if (!inserted) throw new Error("consent insert returned nothing");
        await ctx.audit.record(tx, {
          action: "consent.granted",
          outcome: "granted",
          userId: body.user_id,
          audience: body.audience,
          purpose: body.purpose,
          scope: body.scope,
          requestId: request.id,
          details: { consent_id: inserted.consentId, expires_at: inserted.expiresAt.toISOString() },
        });
        return inserted;
      });
      return reply.code(201).send(consentView(row));
    },
  );

  app.get(
    "/v1/consents/:id",
    { schema: { params: idParams, response: { 200: consentViewSchema, "4xx": errorBodySchema } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const [row] = await ctx.db.select().from(consents).where(eq(consents.consentId, id));
      if (!row) throw new AppError(404, "consent_not_found", "No consent with this id.");
      return consentView(row);
    },
  );

  app.delete(
    "/v1/consents/:id",
    { schema: { params: idParams, response: { 200: consentViewSchema, "4xx": errorBodySchema } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const { consent, cancelledShareIds } = await withdrawConsent(ctx.db, ctx.audit, id, request.id);
      return { ...consentView(consent), cancelled_share_ids: cancelledShareIds };
    },
  );
}
