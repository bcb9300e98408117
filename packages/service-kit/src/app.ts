import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { ApiScope } from "@share-broker/contracts";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Registry } from "prom-client";
import {
  authenticate,
  bearerToken,
  type Principal,
  type PrincipalEntry,
  PrincipalVerifier,
  principalsFromKeys,
  requireScope,
} from "./auth.js";
import { AppError, ErrorCode, handleError } from "./errors.js";
import { installHealthRoutes, type ReadinessCheck } from "./health.js";
import type { Logger } from "./logger.js";
import { createMetricsRegistry, installMetrics } from "./metrics.js";
import { installOpenApi, type OpenApiInfo } from "./openapi.js";
import { runAsPrincipal } from "./principal-context.js";
import { REQUEST_ID_HEADER, requestIdFor } from "./request-id.js";
import { installZodRoutes } from "./zod-routes.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Routes marked public skip Bearer auth: health, metrics, signed webhooks, hosted pages. */
    public?: boolean;
    /** The scope a principal needs (contract operations set it); checked after authentication. */
    scope?: ApiScope;
  }
  interface FastifyRequest {
    /** Who is calling; null on public routes. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Set when graceful shutdown begins; readiness answers 503 from then on. */
    shuttingDown: boolean;
    metricsRegistry: Registry;
  }
}

export interface AppOptions {
  service: string;
  logger: Logger;
  /** Named principals accepted on every non-public route (resolvePrincipals). */
  principals?: readonly PrincipalEntry[];
  /** Bearer keys accepted on every non-public route, each a full-scope principal; used without `principals`. */
  apiKeys?: readonly string[];
  readiness?: Record<string, ReadinessCheck>;
  /** Requests per minute per API key (or client address when unauthenticated). */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  /** Custom check for routes that use another credential (the sandbox's x-api-key routes). */
  authenticate?: "bearer" | "none";
  /** Serve the OpenAPI document of the routes at /openapi.json and Swagger UI at /docs. */
  openapi?: OpenApiInfo;
  /** From createMetricsRegistry, when the service counts into it before the app exists; else the app makes its own. */
  metricsRegistry?: Registry;
}

function rateLimitKey(request: { headers: Record<string, unknown>; ip: string }): string {
  const token = bearerToken(request as never);
  // Keys are hashed so the limiter's memory never holds a credential.
  return token ? `key:${createHash("sha256").update(token).digest("hex").slice(0, 32)}` : `ip:${request.ip}`;
}

/**
 * The Fastify instance every service starts from: request ids, JSON errors with stable codes,
 * Bearer auth on by default, rate limiting, health, readiness and metrics.
 */
export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  // Widened to fastify's logger interface (pino's Logger satisfies it), so the instance keeps
  // fastify's default type parameters, which plugins and routes are written against.
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    genReqId: requestIdFor,
    logController: new LogController({ requestIdLogLabel: "request_id" }),
    requestIdHeader: false,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    // Path parameters as long as the contracts allow (user ids: 256 characters, URL-encoded up to
    // three times that), so an over-long one is refused by its schema (400) and not by the router (414).
    maxParamLength: 1024,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
  });
  app.decorate("shuttingDown", false);
  installZodRoutes(app);

  app.addHook("onRequest", async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  // A keep-alive connection whose request was in flight at shutdown would hold the server open
  // until the deadline; asking the client to close lets shutdown finish as soon as it is answered.
  app.addHook("onSend", async (_request, reply) => {
    if (app.shuttingDown) reply.header("connection", "close");
  });

  const verifier = new PrincipalVerifier(options.principals ?? principalsFromKeys(options.apiKeys ?? []));
  app.decorateRequest("principal", null);
  if ((options.authenticate ?? "bearer") === "bearer") {
    // Authentication and scope both before the body is read: a refused caller costs no parsing.
    app.addHook("onRequest", async (request) => {
      if (request.routeOptions.config?.public) return;
      const principal = authenticate(verifier, request);
      request.principal = principal;
      const scope = request.routeOptions.config?.scope;
      if (scope !== undefined) requireScope(principal, scope);
    });
    // The handler runs inside the principal's context, so audit events far from the request know
    // who acted. A preHandler (not onRequest): body parsing would lose the context.
    app.addHook("preHandler", (request, _reply, done) => {
      if (request.principal === null) {
        done();
        return;
      }
      runAsPrincipal(request.principal.name, done);
    });
  }

  await app.register(rateLimit, {
    global: true,
    max: options.rateLimitPerMinute ?? 6000,
    timeWindow: 60_000,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) =>
      new AppError(
        429,
        ErrorCode.rateLimited,
        `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        {
          headers: { "retry-after": String(Math.ceil(context.ttl / 1000)) },
        },
      ),
  });

  // Before any route: the document is collected as routes are added.
  if (options.openapi) await installOpenApi(app, options.openapi);

  app.setErrorHandler(handleError);
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, async (request) => {
    throw new AppError(
      404,
      ErrorCode.notFound,
      `No route for ${request.method} ${request.url.split("?")[0]}.`,
    );
  });

  installHealthRoutes(app, options.readiness ?? {}, () => app.shuttingDown);
  const metricsRegistry = options.metricsRegistry ?? createMetricsRegistry(options.service);
  installMetrics(app, metricsRegistry);
  app.decorate("metricsRegistry", metricsRegistry);
  return app;
}
