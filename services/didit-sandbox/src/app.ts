import { createApp, type Logger } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { ApplicationDirectory } from "./application-directory.js";
import type { SandboxApplication } from "./applications.js";
import { SandboxClock } from "./clock.js";
import { type SandboxConfig, SERVICE_NAME } from "./config.js";
import type { SandboxContext } from "./context.js";
import { FaultRegistry } from "./faults.js";
import { hostedPagePlugin } from "./hosted-page.js";
import { RateLimiter } from "./rate-limits.js";
import { controlPlugin } from "./routes/control.js";
import { diditApiPlugin } from "./routes/didit-api.js";
import { ClockScheduler } from "./scheduler.js";
import { SessionLifecycle } from "./session-lifecycle.js";
import { ShareTokenIssuer } from "./share-tokens.js";
import { SessionStore } from "./store.js";
import { WebhookDispatcher } from "./webhooks/deliveries.js";

export interface SandboxDependencies {
  config: SandboxConfig;
  logger: Logger;
  applications: SandboxApplication[];
  /** Injectable for in-process tests; real time by default. */
  clock?: SandboxClock;
  /** Drives fault failure rates; Math.random by default. */
  random?: () => number;
}

export function createSandboxContext(deps: SandboxDependencies): SandboxContext {
  const { config, logger } = deps;
  const clock = deps.clock ?? new SandboxClock();
  const scheduler = new ClockScheduler(clock, (error) =>
    logger.error({ err: error }, "scheduled task failed"),
  );
  const applications = new ApplicationDirectory(deps.applications);
  const store = new SessionStore();
  const webhooks = new WebhookDispatcher({
    clock,
    scheduler,
    logger,
    retryDelaysMs: config.SANDBOX_WEBHOOK_RETRY_DELAYS_MS,
    timeoutMs: config.SANDBOX_WEBHOOK_TIMEOUT_MS,
  });
  return {
    config,
    logger,
    applications,
    clock,
    scheduler,
    store,
    lifecycle: new SessionLifecycle({ store, applications, clock, scheduler, webhooks }),
    shareTokens: new ShareTokenIssuer(),
    rateLimiter: new RateLimiter(config.SANDBOX_RATE_LIMITS),
    faults: new FaultRegistry(deps.random),
    webhooks,
  };
}

/**
 * The Didit v3 emulator. Didit routes authenticate with `x-api-key` per application, and the
 * control API with `Authorization: Bearer $SANDBOX_CONTROL_KEY`, so the kit's Bearer check is off.
 */
export async function buildSandboxApp(deps: SandboxDependencies): Promise<FastifyInstance> {
  const ctx = createSandboxContext(deps);
  const app = await createApp({
    service: SERVICE_NAME,
    logger: deps.logger,
    apiKeys: [deps.config.SANDBOX_CONTROL_KEY],
    authenticate: "none",
    rateLimitPerMinute: 1_000_000,
    readiness: { applications: async () => deps.applications.length },
  });
  await app.register(async (v3) => diditApiPlugin(v3, ctx), { prefix: "/v3" });
  await app.register(async (control) => controlPlugin(control, ctx), { prefix: "/sandbox" });
  await app.register(async (hosted) => hostedPagePlugin(hosted, ctx));
  app.addHook("onClose", async () => {
    ctx.scheduler.stop();
    await ctx.webhooks.close();
  });
  return app;
}
