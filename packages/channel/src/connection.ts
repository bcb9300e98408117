import type { ConnectionOptions } from "bullmq";
import type { Redis } from "ioredis";

/**
 * BullMQ 5.81 pins its own ioredis (5.11.1) while the workspace catalog has 5.9.3, so the two
 * `Redis` types differ in private members although the runtime objects are interchangeable: BullMQ
 * recognises a client by its connect/disconnect/duplicate methods. Callers pass the workspace client
 * made by createRedis(); this is the one place the types are bridged.
 */
export function bullConnection(redis: Redis): ConnectionOptions {
  return redis as unknown as ConnectionOptions;
}
