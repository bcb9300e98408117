import { env } from "@share-broker/service-kit";
import { z } from "zod";

export const SERVICE_NAME = "didit-sandbox";

/** The sandbox's environment (DESIGN.md §7); the README's configuration table mirrors it. */
export const sandboxConfigSchema = z.object({
  PORT: env.port(3003),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  SANDBOX_CONFIG: env.path(undefined, "the path of the sandbox applications JSON file"),
  SANDBOX_CONTROL_KEY: env.secret("the Bearer key guarding /sandbox/*"),
  SANDBOX_PUBLIC_URL: env
    .url(["http:", "https:"], "the sandbox's own base URL as browsers reach it (hosted page links)")
    .optional(),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(
    10_000,
    "milliseconds graceful shutdown may take before the process exits",
  ),
});

export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;
