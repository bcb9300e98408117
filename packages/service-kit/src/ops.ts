import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { handleError } from "./errors.js";
import { installHealthRoutes, type ReadinessCheck } from "./health.js";
import { installMetricsRoute } from "./metrics.js";
import { installZodRoutes } from "./zod-routes.js";

export interface OpsAppOptions {
  logger: FastifyBaseLogger;
  readiness: Record<string, ReadinessCheck>;
  isShuttingDown: () => boolean;
  metricsRegistry: Registry;
}

/**
 * The ops port's app: liveness, detailed readiness and metrics, for orchestrators and Prometheus
 * on the internal network. Nothing here is exposed on the public port, so it needs no API key.
 */
export function createOpsApp(options: OpsAppOptions): FastifyInstance {
  // Its routes log at warn only: probes and scrapes come every few seconds.
  const ops = Fastify({ loggerInstance: options.logger.child({ port: "ops" }) });
  installZodRoutes(ops);
  ops.setErrorHandler(handleError);
  installHealthRoutes(ops, options.readiness, options.isShuttingDown, true);
  installMetricsRoute(ops, options.metricsRegistry);
  return ops;
}
