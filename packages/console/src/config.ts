import { env } from "@share-broker/service-kit";
import { z } from "zod";

export const SERVICE_NAME = "console";

const flag = (what: string) =>
  z
    .enum(["0", "1"])
    .default("0")
    .transform((value) => value === "1")
    .describe(`${what}: 1 or 0`);

/**
 * The console's environment. A development tool: it listens on loopback, asks no credential of
 * its visitors, and shows only what partner-a's and partner-b's read APIs show to their API keys.
 */
export const consoleConfigSchema = z.object({
  PORT: env.port(3000),
  OPS_PORT: env.opsPort(),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.positiveInt(5_000, "milliseconds graceful shutdown may take"),
  PARTNER_A_URL: env.url(["http:", "https:"], "partner-a's base URL, e.g. http://127.0.0.1:3001"),
  PARTNER_A_API_KEY: env.secret("a Bearer API key partner-a accepts"),
  PARTNER_B_URL: env.url(["http:", "https:"], "partner-b's base URL, e.g. http://127.0.0.1:3002"),
  PARTNER_B_API_KEY: env.secret("a Bearer API key partner-b accepts"),
  CONSOLE_REFRESH_MS: z.coerce
    .number()
    .int()
    .min(250)
    .max(60_000)
    .default(1_000)
    .describe("milliseconds between page refreshes, 250..60000"),
  CONSOLE_ALLOW_REMOTE: flag(
    "allow a HOST other than loopback and Host headers other than 127.0.0.1/localhost (containers only)",
  ),
});

export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
