import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { AppError, ErrorCode } from "./errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by Bearer auth once the key is verified: the hash the limiter counts the request under. */
    rateLimitPrincipal?: string;
  }
}

export interface RateLimitOptions {
  /** Requests per minute per verified API key, or per client address on public routes. */
  perMinute: number;
  /** Failed authentications per minute per client address before it gets 429 instead of 401. */
  authFailuresPerMinute: number;
  /** Counters shared by every replica; without it each process counts alone (tests, the sandbox). */
  redis?: Redis;
  /** Redis key prefix of the counters, so services (and Redis ACLs) keep them apart. */
  namespace: string;
}

const WINDOW_MS = 60_000;

/** A verified key's limiter identity: a hash, so the limiter (and Redis) never holds a credential. */
export function principalKey(apiKey: string): string {
  return `key:${createHash("sha256").update(apiKey).digest("hex").slice(0, 32)}`;
}

/**
 * Only a verified key earns its own bucket: anything else (public routes, junk tokens) is counted
 * by client address, so a fresh made-up token per request gains nothing.
 */
function limiterKey(request: FastifyRequest): string {
  return request.rateLimitPrincipal ?? `ip:${request.ip}`;
}

export function tooManyRequests(ttlMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError(429, ErrorCode.rateLimited, `Too many requests; retry in ${seconds} s.`, {
    headers: { "retry-after": String(seconds) },
  });
}

/**
 * Registers the limiter (global, per principal or address) and returns the check Bearer auth runs
 * on each failed attempt: key guessing is limited per address although the request never reaches
 * the route's own limiter.
 */
export async function installRateLimits(
  app: FastifyInstance,
  options: RateLimitOptions,
): Promise<(request: FastifyRequest) => Promise<void>> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: WINDOW_MS,
    keyGenerator: limiterKey,
    nameSpace: options.namespace,
    ...(options.redis ? { redis: options.redis } : {}),
    errorResponseBuilder: (_request, context) => tooManyRequests(context.ttl),
  });
  const failedAuthLimit = app.createRateLimit({
    max: options.authFailuresPerMinute,
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => `auth-failure:ip:${request.ip}`,
  });
  return async (request) => {
    const result = await failedAuthLimit(request);
    if (!result.isAllowed && result.isExceeded) throw tooManyRequests(result.ttl);
  };
}
