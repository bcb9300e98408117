import {
  BATCH_FALLBACKS_METRIC,
  BatchFallbacks,
  createLogger,
  createMetricsRegistry,
} from "@share-broker/service-kit";
import { capturedLog, metricValue } from "@share-broker/testing";
import { PARTNER_B_BATCHES } from "../../src/batches.js";

type Batch = keyof typeof PARTNER_B_BATCHES;

/**
 * partner-b's batch fallbacks wired as server.ts wires them (into a registry of the service's own),
 * with every log line kept, so a test sees what a fallback counted and what it said.
 */
export function recordedFallbacks() {
  const registry = createMetricsRegistry("partner-b");
  const log = capturedLog();
  const logger = createLogger({ service: "partner-b", destination: log.destination });
  return {
    fallbacks: new BatchFallbacks(registry, logger, PARTNER_B_BATCHES),
    lines: log.lines,
    warnings: (batch: Batch) =>
      log.entries().filter((entry) => entry.level === "warn" && entry.batch === batch),
    count: async (batch: Batch) =>
      metricValue(await registry.metrics(), BATCH_FALLBACKS_METRIC, { batch, service: "partner-b" }),
  };
}
