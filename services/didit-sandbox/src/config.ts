import { env } from "@share-broker/service-kit";
import { z } from "zod";
import { parseRateLimitOverrides } from "./rate-limits.js";

export const SERVICE_NAME = "didit-sandbox";

const millisecondList = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, context) => {
      if (value.trim() === "none") return [];
      const parts = value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
      if (!parts.every((part) => /^\d+$/.test(part))) {
        context.addIssue({ code: "custom", message: "not a list of integers" });
        return z.NEVER;
      }
      return parts.map(Number);
    })
    .describe(what);

/** The sandbox's environment; docs/OPERATIONS.md#didit-sandbox documents it. */
export const sandboxConfigSchema = z.object({
  PORT: env.port(3003),
  OPS_PORT: env.opsPort(),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  SANDBOX_CONFIG: env.path(undefined, "the path of the sandbox applications JSON file"),
  SANDBOX_CONTROL_KEY: env.secret("the Bearer key guarding /sandbox/*"),
  SANDBOX_PUBLIC_URL: env
    .url(["http:", "https:"], "the sandbox's own base URL as browsers reach it (hosted page links)")
    .optional(),
  SANDBOX_WEBHOOK_RETRY_DELAYS_MS: millisecondList(
    "60000,240000",
    "comma-separated milliseconds of sandbox time before each webhook retry, or none",
  ),
  SANDBOX_WEBHOOK_TIMEOUT_MS: env.positiveInt(
    10_000,
    "milliseconds a webhook receiver has to answer 2xx before the attempt counts as failed",
  ),
  SANDBOX_RATE_LIMITS: z
    .string()
    .optional()
    .transform((value, context) => {
      const parsed = parseRateLimitOverrides(value ?? "");
      if (typeof parsed === "string") {
        context.addIssue({ code: "custom", message: parsed });
        return z.NEVER;
      }
      return parsed;
    })
    .describe(
      "per-minute limit overrides per API key, e.g. write=5,decision=3 (scopes create, decision, read, write)",
    ),
  SANDBOX_SESSION_LIFETIME_SECONDS: env.positiveInt(
    604_800,
    "seconds an unfinished session lives before it becomes Expired or Abandoned",
  ),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(
    10_000,
    "milliseconds graceful shutdown may take before the process exits",
  ),
});

export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;
