import {
  type AppOptions,
  createApp,
  type ReadinessCheck,
  resolvePrincipals,
} from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { SERVICE_NAME } from "./config.js";
import type { PartnerAContext } from "./context.js";
import { auditRoutes } from "./routes/audit.js";
import { consentRoutes } from "./routes/consents.js";
import { diditWebhookRoutes } from "./routes/didit-webhooks.js";
import { shareRoutes } from "./routes/shares.js";
import { userRoutes } from "./routes/users.js";
import { verificationRoutes } from "./routes/verifications.js";

/** partner-a's HTTP application: the sharer's public API (docs/ARCHITECTURE.md#the-flow, steps 1–4 and 6). */
export async function buildPartnerAApp(
  ctx: PartnerAContext,
  readiness: Record<string, ReadinessCheck>,
  metricsRegistry?: AppOptions["metricsRegistry"],
): Promise<FastifyInstance> {
  const app = await createApp({
    service: SERVICE_NAME,
    logger: ctx.logger,
    principals: resolvePrincipals(ctx.config),
    rateLimitPerMinute: ctx.config.RATE_LIMIT_PER_MINUTE,
    authFailuresPerMinute: ctx.config.AUTH_FAILURE_LIMIT_PER_MINUTE,
    rateLimitRedis: ctx.rateLimitRedis,
    rateLimitKeyPrefix: `${ctx.config.QUEUE_PREFIX}:`,
    readiness,
    metricsRegistry,
    openapi: {
      title: "share-broker partner-a",
      version: "1.0.0",
      description: "The sharer's API: verifications, consents, shares and their audit.",
    },
  });
  await verificationRoutes(app, ctx);
  await diditWebhookRoutes(app, ctx);
  await consentRoutes(app, ctx);
  await shareRoutes(app, ctx);
  await userRoutes(app, ctx);
  await auditRoutes(app, ctx);
  return app;
}
