import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  type ServiceProcess,
  startServiceProcess,
  testRedisUrl,
} from "@share-broker/testing";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const serviceDir = (name: string) => `${REPO_ROOT}services/${name}`;

export type PartnerName = "partner-a" | "partner-b";

/** Test credentials; distinct from infra/dev so a test never relies on development values. */
export const testKeys = {
  "partner-a": {
    api: "test-partner-a-api-key-000001",
    didit: "test-didit-key-partner-a-0001",
    webhook: "test-webhook-secret-a-000000001",
  },
  "partner-b": {
    api: "test-partner-b-api-key-000001",
    didit: "test-didit-key-partner-b-0001",
    webhook: "test-webhook-secret-b-000000001",
  },
  sandboxControl: "test-sandbox-control-key-0001",
} as const;

export interface PartnerProcessOptions {
  env?: Record<string, string>;
  waitFor?: string | false;
  databaseUrl?: string;
}

/** Starts partner-a or partner-b as a real process on its own fresh database. */
export async function startPartner(
  name: PartnerName,
  options: PartnerProcessOptions = {},
): Promise<ServiceProcess & { databaseUrl: string; dropDatabase: () => Promise<void> }> {
  const database = options.databaseUrl
    ? { url: options.databaseUrl, drop: async () => undefined }
    : await createTestDatabase(`${serviceDir(name)}/drizzle`);
  const keys = testKeys[name];
  const service = await startServiceProcess({
    name,
    entry: "src/server.ts",
    cwd: serviceDir(name),
    waitFor: options.waitFor,
    env: {
      SHARE_BROKER_NO_DEV_ENV: "1",
      LOG_LEVEL: "info",
      API_KEYS: keys.api,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      DIDIT_BASE_URL: "http://127.0.0.1:9",
      DIDIT_API_KEY: keys.didit,
      DIDIT_WEBHOOK_SECRET: keys.webhook,
      PARTNER_ID: name,
      PARTNERS_FILE: `${REPO_ROOT}infra/dev/partners.json`,
      KEYS_DIR: `${REPO_ROOT}.keys/test-${name}`,
      ...options.env,
    },
  });
  return Object.assign(service, { databaseUrl: database.url, dropDatabase: database.drop });
}
