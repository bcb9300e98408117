import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SandboxApplication } from "../applications.js";
import type { SandboxContext } from "../context.js";
import { DrfError, detailError } from "../drf-errors.js";
import type { RateLimitScope } from "../rate-limits.js";
import { registerDecisionRoute } from "./decision.js";
import { registerDeleteRoute } from "./delete.js";
import { registerImportSharedRoute } from "./import-shared.js";
import { registerListRoute } from "./list.js";
import { registerCreateSessionRoute } from "./sessions.js";
import { registerShareRoute } from "./share.js";
import { registerUpdateStatusRoute } from "./update-status.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The Didit rate-limit scope a /v3 route counts in (docs/DIDIT.md#rate-limits). */
    diditScope?: RateLimitScope;
  }
  interface FastifyRequest {
    /** The application whose `x-api-key` authenticated this /v3 request. */
    diditApplication: SandboxApplication | null;
    /** Set by a latency-only fault: how long to hold the answer back. */
    faultLatencyMs: number;
  }
}

/** Route options every /v3 route shares; the kit's own limiter is off, Didit's limits apply instead. */
export function diditRoute(scope: RateLimitScope) {
  return { config: { rateLimit: false, diditScope: scope } } as const;
}

export function callerOf(request: FastifyRequest): SandboxApplication {
  if (!request.diditApplication) throw detailError(401, "Authentication credentials were not provided.");
  return request.diditApplication;
}

// Method and path of every emulated route, so an unknown path can be told from a wrong method.
const ROUTES: { method: string; pattern: RegExp }[] = [
  { method: "POST", pattern: /^\/v3\/session\/$/ },
  { method: "POST", pattern: /^\/v3\/session\/import-shared\/$/ },
  { method: "GET", pattern: /^\/v3\/sessions\/$/ },
  { method: "GET", pattern: /^\/v3\/session\/[^/]+\/decision\/$/ },
  { method: "POST", pattern: /^\/v3\/session\/[^/]+\/share\/$/ },
  { method: "PATCH", pattern: /^\/v3\/session\/[^/]+\/update-status\/$/ },
  { method: "DELETE", pattern: /^\/v3\/session\/[^/]+\/delete\/$/ },
];

/**
 * The emulated Didit v3 API, encapsulated so its DRF-style errors stay apart from the kit's shape.
 * Per request: injected faults, then `x-api-key` (401), then the rate limit (429), then the route.
 */
export async function diditApiPlugin(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  app.decorateRequest("diditApplication", null);
  app.decorateRequest("faultLatencyMs", 0);

  app.addHook("onRequest", async (request, reply) => {
    const fault = ctx.faults.take(request.method, pathOf(request));
    if (!fault) return;
    request.log.info(
      { fault_id: fault.fault_id, status: fault.status ?? null, latency_ms: fault.latency_ms },
      "injecting fault",
    );
    if (fault.status === undefined) {
      // A latency-only fault delays the answer after the route ran, as a slow Didit would: a client
      // that times out has lost the response, not the effect (docs/DIDIT.md#import-a-shared-session).
      request.faultLatencyMs = fault.latency_ms;
      return;
    }
    if (fault.latency_ms > 0) await sleep(fault.latency_ms);
    const headers: Record<string, string> = {};
    if (fault.retry_after_seconds !== undefined) headers["retry-after"] = String(fault.retry_after_seconds);
    const body =
      fault.body ??
      (fault.status === 429
        ? {
            detail: `Request was throttled. Expected available in ${fault.retry_after_seconds ?? 60} seconds.`,
          }
        : fault.status >= 500
          ? { detail: "Service temporarily unavailable, try again later." }
          : { detail: "Injected fault." });
    return reply.code(fault.status).headers(headers).send(body);
  });

  app.addHook("onSend", async (request, _reply, payload) => {
    if (request.faultLatencyMs > 0) await sleep(request.faultLatencyMs);
    return payload;
  });

  app.addHook("onRequest", async (request) => {
    if (request.is404) return;
    const key = request.headers["x-api-key"];
    if (typeof key !== "string" || key.length === 0) {
      throw detailError(401, "Authentication credentials were not provided.");
    }
    const application = ctx.applications.byApiKey(key);
    if (!application) throw detailError(401, "Invalid API key.");
    request.diditApplication = application;
  });

  app.addHook("onRequest", async (request) => {
    const scope = request.routeOptions.config?.diditScope;
    if (request.is404 || scope === undefined || !request.diditApplication) return;
    const decision = ctx.rateLimiter.take(request.diditApplication.application_id, scope, ctx.clock.now());
    if (decision.allowed) return;
    throw detailError(
      429,
      `Request was throttled. Expected available in ${decision.retryAfterSeconds} seconds.`,
      {
        "x-ratelimit-limit": String(decision.limit),
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(decision.resetEpochSeconds),
        "retry-after": String(decision.retryAfterSeconds),
      },
    );
  });

  app.setErrorHandler(drfErrorHandler);
  app.setNotFoundHandler(async (request, reply) => {
    const path = pathOf(request);
    // Didit redirects a path without its slash, the redirect drops x-api-key, and the caller sees 403
    // (docs/DIDIT.md#base-facts).
    if (!path.endsWith("/")) {
      return reply.code(403).send({ detail: "Authentication credentials were not provided." });
    }
    if (ROUTES.some((route) => route.pattern.test(path))) {
      return reply.code(405).send({ detail: `Method "${request.method}" not allowed.` });
    }
    return reply.code(404).send({ detail: "Not found." });
  });

  registerCreateSessionRoute(app, ctx);
  registerDecisionRoute(app, ctx);
  registerListRoute(app, ctx);
  registerShareRoute(app, ctx);
  registerImportSharedRoute(app, ctx);
  registerUpdateStatusRoute(app, ctx);
  registerDeleteRoute(app, ctx);
}

function pathOf(request: FastifyRequest): string {
  return request.url.split("?")[0] as string;
}

export function drfErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DrfError) {
    request.log.info({ status: error.statusCode }, error.message);
    return reply.code(error.statusCode).headers(error.headers).send(error.body);
  }
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return reply.code(400).send({ detail: "JSON parse error - the request body is not valid JSON." });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return reply
        .code(415)
        .send({ detail: `Unsupported media type "${request.headers["content-type"] ?? ""}" in request.` });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return reply.code(413).send({ detail: "Request body is too large." });
  }
  const status = Number(fastifyError.statusCode);
  if (status >= 400 && status < 500) {
    return reply.code(status).send({ detail: String(fastifyError.message ?? "Bad request.") });
  }
  request.log.error({ err: error }, "request failed");
  return reply.code(500).send({ detail: "A server error occurred." });
}

/** Where the caller reached the sandbox, for absolute URLs in list pagination. */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
