import { baseServiceEnv, env, rateLimitEnv, retentionEnv } from "@share-broker/service-kit";
import { z } from "zod";

export const SERVICE_NAME = "partner-a";

const DAY = 86_400;

/** partner-a's environment; docs/OPERATIONS.md#configuration documents it. */
export const partnerAConfigSchema = z.object({
  ...baseServiceEnv(3001),
  DATABASE_URL: env.url(["postgres:", "postgresql:"], "a PostgreSQL connection URL"),
  REDIS_URL: env.url(["redis:", "rediss:"], "a Redis connection URL"),
  DIDIT_BASE_URL: env.url(["http:", "https:"], "the Didit API base URL, e.g. https://verification.didit.me"),
  DIDIT_API_KEY: env.secret("partner A's Didit API key (x-api-key)"),
  DIDIT_WEBHOOK_SECRET: env.secret("partner A's Didit webhook secret"),
  DIDIT_FIRST_VERIFICATION_WORKFLOW_ID: z
    .uuid()
    .describe("the Didit workflow id of the first (full KYC) verification"),
  DIDIT_REUSABLE_KYC_WORKFLOW_ID: z
    .uuid()
    .describe("the Didit workflow id of the Reusable KYC (selfie-only) reauth"),
  PARTNER_ID: env.identifier("this partner's id in the partner registry"),
  PARTNERS_FILE: env.path(undefined, "the path of the partner registry JSON file"),
  KEYS_DIR: env.path(undefined, "the folder holding this partner's private envelope keys"),
  PSEUDONYM_SECRET: env.secret("the key that turns user ids into audit and channel pseudonyms"),
  QUEUE_PREFIX: z.string().min(1).default("{share-broker}").describe("the BullMQ key prefix of the channel"),
  SHARE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(DAY)
    .default(900)
    .describe("default share-token lifetime in seconds, 60..86400"),
  CONSENT_TTL_SECONDS: env.positiveInt(30 * DAY, "default consent lifetime in seconds"),
  DISPATCH_CONCURRENCY: env.positiveInt(
    64,
    "shares minted and sent per dispatcher batch, and import results applied in parallel",
  ),
  DISPATCH_LEASE_SECONDS: env.positiveInt(
    30,
    "seconds a dispatcher holds a share before another may retry it",
  ),
  DISPATCH_POLL_MS: env.positiveInt(500, "milliseconds between outbox polls when idle"),
  DISPATCH_MAX_ATTEMPTS: env.positiveInt(12, "mint attempts on transient Didit errors before a share fails"),
  RESULT_GRACE_SECONDS: env.positiveInt(
    300,
    "seconds after token expiry before an unacknowledged share expires",
  ),
  REDRIVE_AFTER_SECONDS: env.positiveInt(
    60,
    "seconds without a result before a sent share's delivery is checked",
  ),
  RECONCILE_INTERVAL_MS: env.positiveInt(5_000, "milliseconds between reconciler passes"),
  ...rateLimitEnv(),
  ...retentionEnv(),
  DISPATCH_LEFTOVER_RETENTION_DAYS: env.positiveInt(
    7,
    "days an outbox row of a share that is no longer open is kept before it is deleted",
  ),
  FAILPOINTS: z
    .string()
    .default("")
    .describe("test-only crash points, e.g. after-mint (ignored in production)"),
});

export type PartnerAConfig = z.infer<typeof partnerAConfigSchema>;
