import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.js";

/**
 * The one place Redis client defaults are set.
 * - worker: BullMQ workers block on Redis and must never give up a command (maxRetriesPerRequest null).
 * - producer: HTTP paths that enqueue must fail fast when Redis is down, so the API can answer 503
 *   instead of hanging (no offline queue, one retry per command).
 */
export type RedisProfile = "worker" | "producer";

const profiles: Record<RedisProfile, RedisOptions> = {
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 },
};

export function createRedis(url: string, profile: RedisProfile, logger?: Logger): Redis {
  const redis = new Redis(url, {
    ...profiles[profile],
    connectionName: `share-broker-${profile}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastReport = 0;
  redis.on("error", (error) => {
    // ioredis retries forever; report at most every 10 s instead of on every attempt.
    const now = Date.now();
    if (now - lastReport > 10_000) {
      lastReport = now;
      logger?.warn({ err: error, profile }, "redis connection problem");
    }
  });
  return redis;
}

export function redisReadiness(redis: Redis) {
  return async () => {
    if (redis.status !== "ready") throw new Error(`redis connection is ${redis.status}`);
    await redis.ping();
  };
}
