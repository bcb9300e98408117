import { createApp, type Logger, postgresReadiness, redisReadiness } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type pg from "pg";
import { type PartnerBConfig, SERVICE_NAME } from "./config.js";

export interface PartnerBDependencies {
  config: PartnerBConfig;
  logger: Logger;
  pool: pg.Pool;
  redis: Redis;
}

/** partner-b's HTTP application; business routes are registered here as they are built. */
export async function buildPartnerBApp(deps: PartnerBDependencies): Promise<FastifyInstance> {
  return createApp({
    service: SERVICE_NAME,
    logger: deps.logger,
    apiKeys: deps.config.API_KEYS,
    rateLimitPerMinute: deps.config.RATE_LIMIT_PER_MINUTE,
    readiness: { postgres: postgresReadiness(deps.pool), redis: redisReadiness(deps.redis) },
  });
}
