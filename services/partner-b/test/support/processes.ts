import { fileURLToPath } from "node:url";
import { DiditClient } from "@share-broker/didit";
import { type ServiceProcess, startServiceProcess, testRedisUrl } from "@share-broker/testing";
import { APP_B, B_API_KEY, SANDBOX_CONTROL_KEY, type TestWorld } from "./world.js";

export const PARTNER_B_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const SANDBOX_DIR = fileURLToPath(new URL("../../../didit-sandbox", import.meta.url));
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

export interface Sandbox {
  process: ServiceProcess;
  url: string;
  client(apiKey: string): DiditClient;
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** The Didit sandbox as a real process, the way the stack runs it (cf. didit-sandbox/test/helpers.ts). */
export async function startSandbox(world: TestWorld): Promise<Sandbox> {
  const service = await startServiceProcess({
    name: "didit-sandbox",
    entry: "src/server.ts",
    cwd: SANDBOX_DIR,
    env: {
      SANDBOX_CONFIG: world.applicationsFile,
      SANDBOX_CONTROL_KEY,
      LOG_LEVEL: "info",
      SHARE_BROKER_NO_DEV_ENV: "1",
      NODE_ENV: "test",
    },
  });
  const clients: DiditClient[] = [];
  return {
    process: service,
    url: service.url,
    client: (apiKey) => {
      const client = new DiditClient({ baseUrl: service.url, apiKey, maxRetries: 0 });
      clients.push(client);
      return client;
    },
    control: async (method, path, body) => {
      const response = await fetch(`${service.url}/sandbox${path}`, {
        method,
        headers: {
          authorization: `Bearer ${SANDBOX_CONTROL_KEY}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    stop: async () => {
      await Promise.all(clients.map((client) => client.close()));
      await service.stop();
    },
  };
}

export interface PartnerBOptions {
  world: TestWorld;
  sandboxUrl: string;
  databaseUrl: string;
  queuePrefix: string;
  port: number;
  env?: Record<string, string>;
}

/** partner-b as a real process; quick lock and retry timings so crash recovery fits in a test. */
export function startPartnerB(options: PartnerBOptions): Promise<ServiceProcess> {
  return startServiceProcess({
    name: "partner-b",
    entry: "src/server.ts",
    cwd: PARTNER_B_DIR,
    env: {
      SHARE_BROKER_NO_DEV_ENV: "1",
      PORT: String(options.port),
      LOG_LEVEL: "info",
      API_KEYS: B_API_KEY,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: testRedisUrl(),
      DIDIT_BASE_URL: options.sandboxUrl,
      DIDIT_API_KEY: APP_B.apiKey,
      DIDIT_WEBHOOK_SECRET: APP_B.webhookSecret,
      PARTNER_ID: "partner-b",
      PARTNERS_FILE: options.world.partnersFile,
      KEYS_DIR: options.world.bKeysDir,
      POLICIES_FILE: options.world.policiesFile,
      QUEUE_PREFIX: options.queuePrefix,
      INBOX_LOCK_MS: "2000",
      INBOX_STALLED_INTERVAL_MS: "1000",
      IMPORT_RETRY_BASE_MS: "200",
      RESULT_POLL_MS: "100",
      RECONCILE_INTERVAL_MS: "1000",
      // Every webhook comes from the sandbox's one address, faster than Didit's would.
      WEBHOOK_RATE_LIMIT_PER_MINUTE: "6000",
      ...options.env,
    },
  });
}

/** Calls partner-b's API with its Bearer key. */
export function partnerBApi(service: ServiceProcess) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${B_API_KEY}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 25_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}
