import { baseServiceEnv, env } from "@share-broker/service-kit";
import { z } from "zod";

export const SERVICE_NAME = "partner-b";

/** partner-b's environment (DESIGN.md §7); the README's configuration table mirrors it. */
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
});

export type PartnerBConfig = z.infer<typeof partnerBConfigSchema>;
