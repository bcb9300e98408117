import { createApp, type Logger } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { SandboxApplication } from "./applications.js";
import { type SandboxConfig, SERVICE_NAME } from "./config.js";

export interface SandboxDependencies {
  config: SandboxConfig;
  logger: Logger;
  applications: SandboxApplication[];
}

/**
 * The Didit v3 emulator. Didit routes authenticate with `x-api-key` per application, and the
 * control API with `Authorization: Bearer $SANDBOX_CONTROL_KEY`, so the kit's Bearer check is off.
 */
export async function buildSandboxApp(deps: SandboxDependencies): Promise<FastifyInstance> {
  return createApp({
    service: SERVICE_NAME,
    logger: deps.logger,
    apiKeys: [deps.config.SANDBOX_CONTROL_KEY],
    authenticate: "none",
    rateLimitPerMinute: 1_000_000,
    readiness: { applications: async () => deps.applications.length },
  });
}
