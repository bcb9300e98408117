import type { Logger } from "@share-broker/service-kit";
import type { ApplicationDirectory } from "./application-directory.js";
import type { SandboxClock } from "./clock.js";
import type { SandboxConfig } from "./config.js";
import type { FaultRegistry } from "./faults.js";
import type { RateLimiter } from "./rate-limits.js";
import type { ClockScheduler } from "./scheduler.js";
import type { SessionLifecycle } from "./session-lifecycle.js";
import type { ShareTokenIssuer } from "./share-tokens.js";
import type { SessionStore } from "./store.js";
import type { WebhookDispatcher } from "./webhooks/deliveries.js";

/** Everything the sandbox's routes share: one per app instance, all in memory. */
export interface SandboxContext {
  config: SandboxConfig;
  logger: Logger;
  applications: ApplicationDirectory;
  clock: SandboxClock;
  scheduler: ClockScheduler;
  store: SessionStore;
  lifecycle: SessionLifecycle;
  shareTokens: ShareTokenIssuer;
  rateLimiter: RateLimiter;
  faults: FaultRegistry;
  webhooks: WebhookDispatcher;
}
