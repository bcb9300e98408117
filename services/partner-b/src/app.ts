import {
  type AppOptions,
  createApp,
  type ReadinessCheck,
  resolvePrincipals,
} from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { SERVICE_NAME } from "./config.js";
import type { PartnerBContext } from "./context.js";
import { auditRoutes } from "./routes/audit.js";
import { diditWebhookRoutes } from "./routes/didit-webhooks.js";
import { importRoutes } from "./routes/imports.js";
import { linkRequestRoutes } from "./routes/link-requests.js";
import { policyRoutes } from "./routes/policies.js";

/** partner-b's HTTP application: the importer's public API (docs/ARCHITECTURE.md#the-flow, steps 5–7). */
export async function buildPartnerBApp(
  ctx: PartnerBContext,
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
      title: "share-broker partner-b",
      version: "1.0.0",
      description:
        "The recipient's API: link requests, imports, compliance reviews, the import policy and audit.",
    },
  });
  await linkRequestRoutes(app, ctx);
  await importRoutes(app, ctx);
  await diditWebhookRoutes(app, ctx);
  await policyRoutes(app, ctx);
  await auditRoutes(app, ctx);
  return app;
}
