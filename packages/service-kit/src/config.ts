import { z } from "zod";

/**
 * Environment configuration, validated once at start. Every service describes its variables as a
 * zod object keyed by the variable name, so `config.DATABASE_URL` reads like the tables of
 * docs/OPERATIONS.md.
 */

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

// Values of these variables are never echoed back in an error line.
const SECRET_NAME = /KEY|SECRET|PASSWORD|TOKEN/i;

function shownValue(name: string, raw: string | undefined): string {
  if (raw === undefined) return "";
  if (SECRET_NAME.test(name)) return ` (got ${raw.length} characters)`;
  // A connection string may carry a password; show it without one.
  return ` (got "${raw.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@")}")`;
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings count as unset, so `FOO=` in an env file falls back to the default or fails clearly.
  const cleaned: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") cleaned[name] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "(config)");
    const expected = schema.shape[name]?.description ?? issue.message;
    const raw = cleaned[name];
    return raw === undefined
      ? `${name} is missing: expected ${expected}`
      : `${name} is invalid${shownValue(name, raw)}: expected ${expected}`;
  });
  throw new ConfigError([...new Set(problems)]);
}

/** Loads the config or prints one line per problem to stderr and exits 1, before anything listens. */
export function loadConfigOrExit<S extends z.ZodObject>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: cannot start, invalid configuration\n`);
    for (const problem of error.problems) process.stderr.write(`${service}: ${problem}\n`);
    process.exit(1);
  }
}

/** Building blocks for service schemas; each description is what the error line says is expected. */
export const env = {
  port: (fallback: number) =>
    z.coerce.number().int().min(0).max(65535).default(fallback).describe("a TCP port number from 0 to 65535"),
  /** Optional: runService defaults it to PORT + 1000. */
  opsPort: () =>
    z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe("the ops port (/healthz, detailed /readyz, /metrics), from 0 to 65535"),
  host: () => z.string().default("127.0.0.1").describe("a host name or IP address to listen on"),
  logLevel: () =>
    z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("one of fatal, error, warn, info, debug, trace, silent"),
  apiKeys: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((key) => key.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(16)).min(1))
      .describe("a comma-separated list of Bearer API keys, each at least 16 characters"),
  url: (protocols: string[], what: string) =>
    z
      .string()
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      })
      .describe(`${what} (${protocols.map((p) => `${p}//…`).join(" or ")})`),
  secret: (what: string, minLength = 16) =>
    z.string().min(minLength).describe(`${what}, at least ${minLength} characters`),
  positiveInt: (fallback: number, what: string) =>
    z.coerce.number().int().positive().default(fallback).describe(`${what} (a positive integer)`),
  path: (fallback: string | undefined, what: string) =>
    fallback === undefined
      ? z.string().min(1).describe(what)
      : z.string().min(1).default(fallback).describe(what),
  identifier: (what: string) =>
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .describe(`${what}: lowercase letters, digits, "-" or "_", at most 63 characters`),
};

/** The variables every HTTP service reads (docs/OPERATIONS.md#every-http-service). */
/**
 * The retention job's variables, the same at both partners (docs/OPERATIONS.md#configuration).
 * Each service adds the days of its own tables.
 */
export function retentionEnv() {
  return {
    AUDIT_RETENTION_DAYS: env.positiveInt(1826, "days audit events are kept (default 5 years)"),
    WEBHOOK_EVENT_RETENTION_DAYS: env.positiveInt(
      30,
      "days the ids of applied Didit webhook events are kept",
    ),
    RETENTION_BATCH_SIZE: env.positiveInt(1000, "rows one retention statement deletes at most"),
    RETENTION_INTERVAL_MS: env.positiveInt(86_400_000, "milliseconds between retention passes"),
    // Redis runs noeviction: a dead-letter queue nobody drains must stay bounded (dead-letter.ts).
    DEAD_LETTER_MAX_AGE_DAYS: env.positiveInt(30, "days a refused envelope stays in its -dead queue"),
    DEAD_LETTER_MAX_COUNT: env.positiveInt(10_000, "refused envelopes a -dead queue keeps at most"),
  };
}

/** The partners' rate-limit variables beyond RATE_LIMIT_PER_MINUTE (docs/OPERATIONS.md#configuration). */
export function rateLimitEnv() {
  return {
    WEBHOOK_RATE_LIMIT_PER_MINUTE: env.positiveInt(
      60,
      "webhook requests per minute per client address; more get 429",
    ),
    RATE_LIMIT_STORE: z
      .enum(["redis", "memory"])
      // memory until replicas need one budget: a Redis round trip per request is not free (bench).
      .default("memory")
      .describe(
        "where rate-limit counters live: redis (shared by replicas, via REDIS_URL) or memory (per process)",
      ),
  };
}

export function baseServiceEnv(defaultPort: number) {
  return {
    PORT: env.port(defaultPort),
    OPS_PORT: env.opsPort(),
    HOST: env.host(),
    LOG_LEVEL: env.logLevel(),
    // Exactly one of the two (resolvePrincipals): API_KEYS_FILE in production, API_KEYS as the fallback.
    API_KEYS_FILE: z
      .string()
      .min(1)
      .optional()
      .describe("a path to a JSON file of API principals [{name, scopes, key_sha256}]"),
    API_KEYS: env
      .apiKeys()
      .optional()
      .describe(env.apiKeys().description ?? ""),
    RATE_LIMIT_PER_MINUTE: env.positiveInt(
      6000,
      "requests per minute allowed per verified API key, or per client address on public routes",
    ),
    AUTH_FAILURE_LIMIT_PER_MINUTE: env.positiveInt(
      20,
      "requests with a missing or wrong API key per minute per client address; more get 429",
    ),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(
      10_000,
      "milliseconds graceful shutdown may take before the process exits",
    ),
  };
}
