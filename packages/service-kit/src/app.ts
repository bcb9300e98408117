import type { ApiScope } from "@share-broker/contracts";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Redis } from "ioredis";
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
import { createMetricsRegistry, instrumentRequests } from "./metrics.js";
import { installOpenApi, type OpenApiInfo } from "./openapi.js";
import { createOpsApp } from "./ops.js";
import { runAsPrincipal } from "./principal-context.js";
import { installRateLimits, principalKey } from "./rate-limits.js";
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
    /** The ops port's app (/healthz, detailed /readyz, /metrics); runService listens on it, closing the app closes it. */
    opsApp: FastifyInstance;
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
  /** Requests per minute per verified API key (or client address on public routes). */
  rateLimitPerMinute?: number;
  /** Failed authentications per minute per client address before it gets 429 instead of 401. */
  authFailuresPerMinute?: number;
  /** Shares the limiter's counters between replicas; without it each process counts alone. */
  rateLimitRedis?: Redis;
  /** Prefix of the limiter's Redis keys (the services' queue prefix, which their Redis ACL allows). */
  rateLimitKeyPrefix?: string;
  bodyLimitBytes?: number;
  /** Custom check for routes that use another credential (the sandbox's x-api-key routes). */
  authenticate?: "bearer" | "none";
  /** Serve the OpenAPI document of the routes at /openapi.json and Swagger UI at /docs. */
  openapi?: OpenApiInfo;
  /** From createMetricsRegistry, when the service counts into it before the app exists; else the app makes its own. */
  metricsRegistry?: Registry;
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

  const countFailedAuth = await installRateLimits(app, {
    perMinute: options.rateLimitPerMinute ?? 6000,
    authFailuresPerMinute: options.authFailuresPerMinute ?? 20,
    redis: options.rateLimitRedis,
    namespace: `${options.rateLimitKeyPrefix ?? ""}rate-limit:${options.service}:`,
  });

  const verifier = new PrincipalVerifier(options.principals ?? principalsFromKeys(options.apiKeys ?? []));
  app.decorateRequest("principal", null);
  if ((options.authenticate ?? "bearer") === "bearer") {
    // App-level, so it runs before each route's limiter hook: that one then counts the request
    // under the verified key. A refused key never reaches it and is counted per address here.
    // Authentication and scope both before the body is read: a refused caller costs no parsing.
    app.addHook("onRequest", async (request) => {
      if (request.routeOptions.config?.public) return;
      let principal: Principal;
      try {
        principal = authenticate(verifier, request);
      } catch (error) {
        await countFailedAuth(request);
        throw error;
      }
      request.principal = principal;
      request.rateLimitPrincipal = principalKey(bearerToken(request) as string);
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

  const readiness = options.readiness ?? {};
  const isShuttingDown = () => app.shuttingDown;
  installHealthRoutes(app, readiness, isShuttingDown, false);
  const metricsRegistry = options.metricsRegistry ?? createMetricsRegistry(options.service);
  instrumentRequests(app, metricsRegistry);
  app.decorate("metricsRegistry", metricsRegistry);
  const opsApp = createOpsApp({ logger: loggerInstance, readiness, isShuttingDown, metricsRegistry });
  app.decorate("opsApp", opsApp);
  // Closed after the public app, so readiness keeps answering 503 while requests drain.
  app.addHook("onClose", async () => {
    await opsApp.close();
  });
  return app;
}
