import { SESSION_STATUSES, type SessionStatus } from "@share-broker/didit";
import { ApiKeyVerifier, AppError, ErrorCode, requireApiKey } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { isoSeconds } from "../clock.js";
import type { SandboxContext } from "../context.js";
import { FEATURE_BLOCKS, type FeatureBlocks } from "../store.js";

const faultSchema = {
  type: "object",
  properties: {
    fault_id: { type: "string" },
    method: { type: "string" },
    path: { type: "string" },
    status: { type: "integer" },
    latency_ms: { type: "integer" },
    failure_rate: { type: "number" },
    times: { type: ["integer", "null"] },
    retry_after_seconds: { type: "integer" },
    body: { type: "object", additionalProperties: true },
    applied: { type: "integer" },
  },
} as const;

const clockSchema = {
  type: "object",
  properties: {
    now: { type: "string" },
    now_epoch_seconds: { type: "integer" },
    offset_seconds: { type: "number" },
  },
} as const;

const attemptSchema = {
  type: "object",
  properties: {
    attempt: { type: "integer" },
    started_at: { type: "string" },
    timestamp: { type: "integer" },
    status_code: { type: ["integer", "null"] },
    error: { type: ["string", "null"] },
    ok: { type: "boolean" },
    duration_ms: { type: "integer" },
  },
} as const;

const deliverySchema = {
  type: "object",
  properties: {
    delivery_id: { type: "string" },
    event_id: { type: "string" },
    webhook_type: { type: "string" },
    session_id: { type: "string" },
    application_id: { type: "string" },
    session_status: { type: "string" },
    url: { type: "string" },
    state: { type: "string" },
    created_at: { type: "string" },
    next_attempt_at: { type: ["string", "null"] },
    attempts: { type: "array", items: attemptSchema },
  },
} as const;

const sessionSchema = {
  type: "object",
  properties: {
    session_id: { type: "string" },
    session_number: { type: "integer" },
    session_token: { type: "string" },
    application_id: { type: "string" },
    workflow_id: { type: "string" },
    session_kind: { type: "string" },
    status: { type: "string" },
    previous_status: { type: "string" },
    vendor_data: { type: ["string", "null"] },
    url: { type: ["string", "null"] },
    shared_from_session: { type: ["string", "null"] },
    created_at: { type: "string" },
    expires_at: { type: "string" },
  },
} as const;

interface CompleteBody {
  status: SessionStatus;
  decision?: Record<string, unknown>;
}

interface FaultBody {
  method?: string;
  path: string;
  status?: number;
  latency_ms?: number;
  failure_rate?: number;
  times?: number | null;
  retry_after_seconds?: number;
  body?: Record<string, unknown>;
}

function blockOverrides(decision: Record<string, unknown> | undefined): Partial<FeatureBlocks> {
  const overrides: Partial<FeatureBlocks> = {};
  for (const [name, value] of Object.entries(decision ?? {})) {
    const valid =
      (FEATURE_BLOCKS as readonly string[]).includes(name) &&
      (value === null ||
        (Array.isArray(value) &&
          value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))));
    if (!valid) {
      throw new AppError(
        400,
        ErrorCode.validationFailed,
        `decision.${name}: expected one of ${FEATURE_BLOCKS.join(", ")}, as an array of objects or null.`,
      );
    }
    overrides[name as keyof FeatureBlocks] = (value as FeatureBlocks[keyof FeatureBlocks]) ?? null;
  }
  return overrides;
}

/**
 * The sandbox's control API (`/sandbox/*`, Bearer SANDBOX_CONTROL_KEY): finish sessions, read webhook
 * deliveries, inject faults, move the clock (and put it back), reset. Errors use the service-kit shape.
 */
export async function controlPlugin(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const verifier = new ApiKeyVerifier([ctx.config.SANDBOX_CONTROL_KEY]);
  app.addHook("onRequest", async (request) => {
    requireApiKey(verifier, request);
  });

  const clockView = () => ({
    now: isoSeconds(ctx.clock.now()),
    now_epoch_seconds: ctx.clock.nowSeconds(),
    offset_seconds: ctx.clock.offsetMs / 1000,
  });

  app.get<{ Params: { sessionId: string } }>(
    "/sessions/:sessionId",
    { schema: { response: { 200: sessionSchema } } },
    async (request) => {
      const session = ctx.store.get(request.params.sessionId);
      if (!session) throw new AppError(404, ErrorCode.notFound, "No such session.");
      return {
        ...session,
        created_at: isoSeconds(session.created_at_ms),
        expires_at: isoSeconds(session.expires_at_ms),
      };
    },
  );

  app.post<{ Params: { sessionId: string }; Body: CompleteBody }>(
    "/sessions/:sessionId/complete",
    {
      schema: {
        body: {
          type: "object",
          required: ["status"],
          additionalProperties: false,
          properties: {
            status: { type: "string", enum: [...SESSION_STATUSES] },
            decision: { type: "object" },
          },
        },
        response: { 200: sessionSchema },
      },
    },
    async (request) => {
      const session = ctx.store.get(request.params.sessionId);
      if (!session) throw new AppError(404, ErrorCode.notFound, "No such session.");
      const overrides = blockOverrides(request.body.decision);
      const previous = session.status;
      ctx.lifecycle.changeStatus(session, request.body.status, overrides);
      return {
        ...session,
        previous_status: previous,
        created_at: isoSeconds(session.created_at_ms),
        expires_at: isoSeconds(session.expires_at_ms),
      };
    },
  );

  app.get<{ Querystring: { session_id?: string } }>(
    "/webhook-deliveries",
    {
      schema: {
        querystring: { type: "object", properties: { session_id: { type: "string" } } },
        response: {
          200: { type: "object", properties: { deliveries: { type: "array", items: deliverySchema } } },
        },
      },
    },
    async (request) => ({ deliveries: ctx.webhooks.list(request.query.session_id?.toLowerCase()) }),
  );

  app.get(
    "/faults",
    {
      schema: {
        response: { 200: { type: "object", properties: { faults: { type: "array", items: faultSchema } } } },
      },
    },
    async () => ({ faults: ctx.faults.list() }),
  );

  app.post<{ Body: FaultBody }>(
    "/faults",
    {
      schema: {
        body: {
          type: "object",
          required: ["path"],
          additionalProperties: false,
          properties: {
            method: { type: "string", pattern: "^(\\*|[A-Za-z]+)$" },
            path: { type: "string", minLength: 1, pattern: "^/" },
            status: { type: "integer", minimum: 100, maximum: 599 },
            latency_ms: { type: "integer", minimum: 0, maximum: 120000 },
            failure_rate: { type: "number", minimum: 0, maximum: 1 },
            times: { type: ["integer", "null"], minimum: 1 },
            retry_after_seconds: { type: "integer", minimum: 0 },
            body: { type: "object" },
          },
        },
        response: { 201: faultSchema },
      },
    },
    async (request, reply) => {
      const spec = request.body;
      if (spec.status === undefined && (spec.latency_ms ?? 0) === 0) {
        throw new AppError(400, ErrorCode.validationFailed, "A fault needs a status, a latency_ms, or both.");
      }
      const fault = ctx.faults.add({
        method: spec.method ?? "*",
        path: spec.path,
        status: spec.status,
        latency_ms: spec.latency_ms ?? 0,
        failure_rate: spec.failure_rate ?? 1,
        times: spec.times ?? null,
        retry_after_seconds: spec.retry_after_seconds,
        body: spec.body,
      });
      return reply.code(201).send(fault);
    },
  );

  app.delete("/faults", async (_request, reply) => {
    ctx.faults.clear();
    return reply.code(204).send();
  });

  app.delete<{ Params: { faultId: string } }>("/faults/:faultId", async (request, reply) => {
    if (!ctx.faults.remove(request.params.faultId)) {
      throw new AppError(404, ErrorCode.notFound, "No such fault.");
    }
    return reply.code(204).send();
  });

  app.get("/clock", { schema: { response: { 200: clockSchema } } }, async () => clockView());

  app.post<{ Body: { advance_seconds: number } }>(
    "/clock",
    {
      schema: {
        body: {
          type: "object",
          required: ["advance_seconds"],
          additionalProperties: false,
          properties: { advance_seconds: { type: "number", minimum: 0, maximum: 31_536_000 } },
        },
        response: { 200: clockSchema },
      },
    },
    async (request) => {
      ctx.clock.advance(request.body.advance_seconds * 1000);
      return clockView();
    },
  );

  // Puts the clock back to real time (offset 0) without forgetting sessions, imports or faults. For test
  // harnesses: after a scenario moved the clock past a token's expiry, later webhooks would carry
  // timestamps partners reject as stale (300 s window) until the clock is put back.
  app.delete("/clock", { schema: { response: { 200: clockSchema } } }, async () => {
    ctx.clock.reset();
    return clockView();
  });

  app.post("/reset", async (_request, reply) => {
    ctx.scheduler.clear();
    ctx.store.reset();
    ctx.faults.clear();
    ctx.webhooks.reset();
    ctx.rateLimiter.reset();
    ctx.clock.reset();
    return reply.code(204).send();
  });
}
