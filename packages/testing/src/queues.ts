import { randomBytes } from "node:crypto";
import { inject } from "vitest";

/** A BullMQ prefix no other test shares, so queues never see each other's jobs. */
export function uniqueQueuePrefix(label = "t"): string {
  return `sbt-${label}-${randomBytes(4).toString("hex")}`;
}

export function testRedisUrl(): string {
  return inject("testInfra").redisUrl;
}

export function testPostgresUrl(): string {
  return inject("testInfra").postgresUrl;
}
