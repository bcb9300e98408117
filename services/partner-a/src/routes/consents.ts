import { randomUUID } from "node:crypto";
import { partnerA } from "@share-broker/contracts";
import { AppError, typedRoutes } from "@share-broker/service-kit";
import { eq } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import { consentView } from "../consents/consent-view.js";
import { withdrawConsent } from "../consents/withdraw-consent.js";
import type { PartnerAContext } from "../context.js";
import { consents } from "../db/schema/index.js";

export async function consentRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  const routes = typedRoutes(app);
  routes.route({
    ...partnerA.grantConsent,
    handler: async (request, reply) => {
      const body = request.body;
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
            linkCode: body.link_code,
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
  });

  routes.route({
    ...partnerA.getConsent,
    handler: async (request) => {
      const { id } = request.params;
      const [row] = await ctx.db.select().from(consents).where(eq(consents.consentId, id));
      if (!row) throw new AppError(404, "consent_not_found", "No consent with this id.");
      return consentView(row);
    },
  });

  routes.route({
    ...partnerA.withdrawConsent,
    handler: async (request) => {
      const { id } = request.params;
      const { consent, cancelledShareIds, revokedShareIds } = await withdrawConsent(
        ctx.db,
        ctx.audit,
        id,
        request.id,
      );
      return {
        ...consentView(consent),
        cancelled_share_ids: cancelledShareIds,
        revoked_share_ids: revokedShareIds,
      };
    },
  });
}
