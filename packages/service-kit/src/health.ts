import { healthSchema, publicReadinessSchema, readinessSchema } from "@share-broker/contracts";
import type { FastifyInstance } from "fastify";

/** A readiness check resolves when its dependency answers and rejects with the reason otherwise. */
export type ReadinessCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return "ok";
  } catch (error) {
    return error instanceof Error && error.message ? error.message : "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check; "ok" or the reason per dependency, plus shutdown once it has begun. */
async function readinessReport(
  checks: Record<string, ReadinessCheck>,
  isShuttingDown: () => boolean,
): Promise<{ ready: boolean; report: Record<string, string> }> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name] as ReadinessCheck)));
  const report = Object.fromEntries(names.map((name, index) => [name, results[index] as string]));
  if (isShuttingDown()) report.shutdown = "in progress";
  return { ready: Object.values(report).every((result) => result === "ok"), report };
}

/**
 * /healthz and /readyz. `detailed` (the ops port) names each dependency and why it is not ready;
 * the public port only says ready or unavailable, so error text (hosts, driver messages) stays
 * inside.
 */
export function installHealthRoutes(
  app: FastifyInstance,
  checks: Record<string, ReadinessCheck>,
  isShuttingDown: () => boolean,
  detailed: boolean,
): void {
  const routeOptions = { config: { public: true, rateLimit: false }, logLevel: "warn" } as const;
  app.get(
    "/healthz",
    {
      ...routeOptions,
      schema: { summary: "Liveness", tags: ["health"], security: [], response: { 200: healthSchema } },
    },
    async () => ({ status: "ok" as const }),
  );
  if (detailed) {
    app.get(
      "/readyz",
      {
        ...routeOptions,
        schema: {
          summary: "Readiness: every dependency answers (ops port)",
          tags: ["health"],
          security: [],
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (_request, reply) => {
        const { ready, report } = await readinessReport(checks, isShuttingDown);
        return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks: report });
      },
    );
    return;
  }
  app.get(
    "/readyz",
    {
      ...routeOptions,
      schema: {
        summary: "Readiness: every dependency answers (details on the ops port)",
        tags: ["health"],
        security: [],
        response: { 200: publicReadinessSchema, 503: publicReadinessSchema },
      },
    },
    async (_request, reply) => {
      const { ready } = await readinessReport(checks, isShuttingDown);
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable" });
    },
  );
}
