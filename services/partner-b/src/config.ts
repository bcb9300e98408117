import { MAX_LINK_REQUEST_SECONDS } from "@share-broker/contracts";
import { baseServiceEnv, env, rateLimitEnv, retentionEnv } from "@share-broker/service-kit";
import { z } from "zod";

export const SERVICE_NAME = "partner-b";

const DAY = 86_400;

/** partner-b's environment; docs/OPERATIONS.md#configuration documents it. */
export const partnerBConfigSchema = z.object({
  ...baseServiceEnv(3002),
  DATABASE_URL: env.url(["postgres:", "postgresql:"], "a PostgreSQL connection URL"),
  REDIS_URL: env.url(["redis:", "rediss:"], "a Redis connection URL"),
  DIDIT_BASE_URL: env.url(["http:", "https:"], "the Didit API base URL, e.g. https://verification.didit.me"),
  DIDIT_API_KEY: env.secret("partner B's Didit API key (x-api-key)"),
  DIDIT_WEBHOOK_SECRET: env.secret("partner B's Didit webhook secret"),
  PARTNER_ID: env.identifier("this partner's id in the partner registry"),
  PARTNERS_FILE: env.path(undefined, "the path of the partner registry JSON file"),
  KEYS_DIR: env.path(undefined, "the folder holding this partner's private envelope keys"),
  POLICIES_FILE: env.path(
    "infra/dev/partner-b-policies.json",
    "the import policy file: workflow and trust_review per (source partner, scope); relative paths start at the repository root",
  ),
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9._-]+\}$/)
    .default("{share-broker}")
    .describe('the BullMQ key prefix of the channel, a Redis Cluster hash tag such as "{share-broker}"'),
  INBOX_CONCURRENCY: env.positiveInt(
    32,
    "share offers imported in parallel by the inbox worker (their receipts and successes are group-committed)",
  ),
  INBOX_LOCK_MS: env.positiveInt(
    30_000,
    "milliseconds an inbox job's lock lives without renewal; a crashed worker's job is retried after it lapses",
  ),
  INBOX_STALLED_INTERVAL_MS: env.positiveInt(
    30_000,
    "milliseconds between the inbox worker's checks for jobs whose worker died",
  ),
  IMPORT_LEASE_SECONDS: env.positiveInt(
    60,
    "seconds one delivery holds an import before another delivery of the same share may take it over",
  ),
  IMPORT_RETRY_BASE_MS: env.positiveInt(
    2_000,
    "first wait before retrying an import after a transient Didit error; doubles each time (without Retry-After)",
  ),
  IMPORT_RETRY_MAX_MS: env.positiveInt(60_000, "longest wait between two import attempts"),
  RESULT_POLL_MS: env.positiveInt(500, "milliseconds between result outbox polls when idle"),
  RESULT_LEASE_SECONDS: env.positiveInt(
    30,
    "seconds a result sender holds a result before another may send it",
  ),
  RESULT_TTL_SECONDS: env.positiveInt(7 * DAY, "lifetime of an import-result envelope, in seconds"),
  RECONCILE_INTERVAL_MS: env.positiveInt(5_000, "milliseconds between reconciler passes"),
  STALE_IMPORT_GRACE_SECONDS: env.positiveInt(
    60,
    "seconds after token expiry before an import no delivery finished is reconciled with Didit and closed",
  ),
  ...rateLimitEnv(),
  ...retentionEnv(),
  SENT_RESULT_RETENTION_DAYS: env.positiveInt(
    30,
    "days a sent import result is kept (each import's latest result stays: sequence numbers continue from it)",
  ),
  LINK_REQUEST_RETENTION_DAYS: env.positiveInt(
    30,
    "days a link request is kept after it expires (used or not): its user_ref names a user",
  ),
  LINK_REQUEST_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LINK_REQUEST_SECONDS)
    .default(MAX_LINK_REQUEST_SECONDS)
    .describe(
      `seconds a link code issued by POST /v1/link-requests stays redeemable (1 to ${MAX_LINK_REQUEST_SECONDS}, default ${MAX_LINK_REQUEST_SECONDS})`,
    ),
  FAILPOINTS: z
    .string()
    .default("")
    .describe("test-only crash points, e.g. after-import-call (ignored in production)"),
});

export type PartnerBConfig = z.infer<typeof partnerBConfigSchema>;
