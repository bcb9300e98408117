import { capturedLog, metricValue } from "@share-broker/testing";
import { BATCH_FALLBACKS_METRIC, type BatchCatalog, BatchFallbacks } from "../batch-fallbacks.js";
import { createLogger } from "../logger.js";
import { createMetricsRegistry } from "../metrics.js";

/**
 * A service's batch fallbacks wired as its server.ts wires them (into a registry of the service's
 * own), with every log line kept, so a test sees what a fallback counted and what it said.
 */
export function recordedFallbacks<Catalog extends BatchCatalog>(service: string, catalog: Catalog) {
  type Batch = keyof Catalog & string;
  const registry = createMetricsRegistry(service);
  const log = capturedLog();
  const logger = createLogger({ service, destination: log.destination });
  return {
    fallbacks: new BatchFallbacks(registry, logger, catalog),
    lines: log.lines,
    warnings: (batch: Batch) =>
      log.entries().filter((entry) => entry.level === "warn" && entry.batch === batch),
    count: async (batch: Batch) =>
      metricValue(await registry.metrics(), BATCH_FALLBACKS_METRIC, { batch, service }),
  };
}
