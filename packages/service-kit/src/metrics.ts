import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * A service's metrics registry, labelled with its name and holding Node's default metrics. One per
 * app, so several apps in one process (tests) don't share counters. A service makes it before its
 * app when objects built first (e.g. BatchFallbacks) count into it, and hands it to createApp.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** A counter of events by one label, whose values are known up front. */
export interface LabelledCounter<Value extends string> {
  inc(value: Value): void;
}

/**
 * A counter on `registry` with one label; every value's series exists from the start at 0, so
 * rate() and alerts see the first increment. Services count with it without depending on
 * prom-client themselves.
 */
export function createLabelledCounter<Value extends string>(
  registry: Registry,
  options: { name: string; help: string; label: string; values: readonly Value[] },
): LabelledCounter<Value> {
  const counter =
    (registry.getSingleMetric(options.name) as Counter<string> | undefined) ??
    new Counter({
      name: options.name,
      help: options.help,
      labelNames: [options.label],
      registers: [registry],
    });
  for (const value of options.values) counter.inc({ [options.label]: value }, 0);
  return { inc: (value) => counter.inc({ [options.label]: value }) };
}

/** Request durations of `app` into `registry`, which the ops port's GET /metrics serves. */
export function instrumentRequests(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        // The route pattern, never the raw URL: ids in paths would explode label cardinality.
        route: request.routeOptions.url ?? "unmatched",
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}

/** GET /metrics: `registry` in Prometheus text format. */
export function installMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get(
    "/metrics",
    { config: { public: true, rateLimit: false }, logLevel: "warn" },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}
