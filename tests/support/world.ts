import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  generatePartnerKeys,
  loadPartnerPrivateKeys,
  loadPartnerRegistry,
  writePartnerKeyFiles,
} from "@share-broker/channel";
import { DiditClient } from "@share-broker/didit";
import {
  createTestDatabase,
  freePort,
  partnerRegistryEntry,
  type ServiceProcess,
  sandboxApplication,
  startServiceProcess,
  testRedisUrl,
  uniqueQueuePrefix,
  writeJsonFile,
} from "@share-broker/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { REPO_ROOT, serviceDir } from "./services.js";

/** Didit applications of a test world; C is a third party that never takes part in a flow. */
export const apps = {
  "partner-a": {
    id: "0a000000-0000-4000-8000-00000000000a",
    apiKey: "test-didit-key-a-0001",
    webhookSecret: "test-webhook-secret-a-0001",
    kyc: "0a000000-0000-4000-8000-0000000000a1",
    reusableKyc: "0a000000-0000-4000-8000-0000000000a2",
    kyb: "0a000000-0000-4000-8000-0000000000a3",
  },
  "partner-b": {
    id: "0b000000-0000-4000-8000-00000000000b",
    apiKey: "test-didit-key-b-0001",
    webhookSecret: "test-webhook-secret-b-0001",
    kyc: "0b000000-0000-4000-8000-0000000000b1",
    reusableKyc: "0b000000-0000-4000-8000-0000000000b2",
    kyb: "0b000000-0000-4000-8000-0000000000b3",
  },
  "partner-c": {
    id: "0c000000-0000-4000-8000-00000000000c",
    apiKey: "test-didit-key-c-0001",
    webhookSecret: "test-webhook-secret-c-0001",
    kyc: "0c000000-0000-4000-8000-0000000000c1",
    reusableKyc: "0c000000-0000-4000-8000-0000000000c2",
    kyb: "0c000000-0000-4000-8000-0000000000c3",
  },
} as const;

export type PartnerId = keyof typeof apps;
export const CONTROL_KEY = "test-sandbox-control-key-0001";
export const API_KEYS: Record<PartnerId, string> = {
  "partner-a": "test-partner-a-api-key-000001",
  "partner-b": "test-partner-b-api-key-000001",
  "partner-c": "test-partner-c-api-key-000001",
};
export const PSEUDONYM_SECRET = "test-pseudonym-secret-000001";

/** Every secret of a world: none may ever appear in a log line or a table. */
export const ALL_SECRETS = [
  CONTROL_KEY,
  PSEUDONYM_SECRET,
  ...Object.values(API_KEYS),
  ...Object.values(apps).flatMap((app) => [app.apiKey, app.webhookSecret]),
];

/**
 * One isolated set-up for multi-process tests: its own folder (applications, partner registry,
 * envelope keys for partners A, B and C), its own queue prefix and ports chosen up front, so the
 * sandbox can address webhooks to partners that start later.
 */
export interface World {
  dir: string;
  prefix: string;
  ports: Record<PartnerId | "sandbox", number>;
  applicationsFile: string;
  partnersFile: string;
  /** partner-b's import policy: scope kyc from partner-a keeps A's verdict, kyc+aml goes to review. */
  policiesFile: string;
  keysDir: (partner: PartnerId) => string;
}

export async function createWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "share-broker-world-"));
  const ports = {
    sandbox: await freePort(),
    "partner-a": await freePort(),
    "partner-b": await freePort(),
    "partner-c": await freePort(),
  };
  const keysDir = (partner: PartnerId) => join(dir, "keys", partner);
  const partners = Object.keys(apps) as PartnerId[];
  for (const partner of partners) {
    await writePartnerKeyFiles(keysDir(partner), {
      partner_id: partner,
      current: await generatePartnerKeys(partner),
    });
  }
  const applicationsFile = writeJsonFile(join(dir, "applications.json"), {
    applications: partners.map((partner) =>
      sandboxApplication(apps[partner], partner, `http://127.0.0.1:${ports[partner]}/v1/webhooks/didit`, [
        { workflow_id: apps[partner].kyc, name: "first_verification", kind: "kyc" },
        { workflow_id: apps[partner].reusableKyc, name: "reusable_kyc", kind: "reusable_kyc" },
        { workflow_id: apps[partner].kyb, name: "kyb", kind: "kyb" },
      ]),
    ),
  });
  const partnersFile = writeJsonFile(join(dir, "partners.json"), {
    partners: partners.map((partner) =>
      partnerRegistryEntry(partner, apps[partner].id, join(keysDir(partner), "public.jwks.json")),
    ),
  });
  const policiesFile = join(dir, "partner-b-policies.json");
  const bWorkflow = apps["partner-b"].kyc;
  writeFileSync(
    policiesFile,
    JSON.stringify({
      version: "test-1",
      default: { workflow_id: bWorkflow, trust_review: false },
      rules: [
        { source: "partner-a", scope: "kyc", workflow_id: bWorkflow, trust_review: true },
        { source: "partner-a", scope: "kyc+aml", workflow_id: bWorkflow, trust_review: false },
      ],
    }),
  );
  return {
    dir,
    prefix: `{${uniqueQueuePrefix()}}`,
    ports,
    applicationsFile,
    partnersFile,
    policiesFile,
    keysDir,
  };
}

export async function startSandbox(world: World, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return startServiceProcess({
    name: "didit-sandbox",
    entry: "src/server.ts",
    cwd: serviceDir("didit-sandbox"),
    env: {
      SHARE_BROKER_NO_DEV_ENV: "1",
      PORT: String(world.ports.sandbox),
      SANDBOX_CONFIG: world.applicationsFile,
      SANDBOX_CONTROL_KEY: CONTROL_KEY,
      SANDBOX_PUBLIC_URL: `http://127.0.0.1:${world.ports.sandbox}`,
      SANDBOX_WEBHOOK_RETRY_DELAYS_MS: "200,400",
      LOG_LEVEL: "info",
      ...env,
    },
  });
}

export interface PartnerProcess extends ServiceProcess {
  databaseUrl: string;
  /** Calls the partner's public API with its Bearer key. */
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;
}

/** Starts partner-a or partner-b of the world; pass `databaseUrl` to restart on the same data. */
export async function startWorldPartner(
  world: World,
  partner: "partner-a" | "partner-b",
  options: { env?: Record<string, string>; databaseUrl?: string; waitFor?: string | false } = {},
): Promise<PartnerProcess> {
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase(`${serviceDir(partner)}/drizzle`)).url;
  const service = await startServiceProcess({
    name: partner,
    entry: "src/server.ts",
    cwd: serviceDir(partner),
    waitFor: options.waitFor,
    env: {
      SHARE_BROKER_NO_DEV_ENV: "1",
      PORT: String(world.ports[partner]),
      LOG_LEVEL: "info",
      API_KEYS: API_KEYS[partner],
      DATABASE_URL: databaseUrl,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: world.prefix,
      DIDIT_BASE_URL: `http://127.0.0.1:${world.ports.sandbox}`,
      DIDIT_API_KEY: apps[partner].apiKey,
      DIDIT_WEBHOOK_SECRET: apps[partner].webhookSecret,
      DIDIT_FIRST_VERIFICATION_WORKFLOW_ID: apps[partner].kyc,
      DIDIT_REUSABLE_KYC_WORKFLOW_ID: apps[partner].reusableKyc,
      PARTNER_ID: partner,
      PARTNERS_FILE: world.partnersFile,
      KEYS_DIR: world.keysDir(partner),
      PSEUDONYM_SECRET: PSEUDONYM_SECRET,
      POLICIES_FILE: world.policiesFile,
      DISPATCH_POLL_MS: "100",
      RECONCILE_INTERVAL_MS: "200",
      // Every webhook of a world comes from the sandbox's one address, faster than Didit's would.
      WEBHOOK_RATE_LIMIT_PER_MINUTE: "6000",
      ...options.env,
    },
  });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${API_KEYS[partner]}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return Object.assign(service, { databaseUrl, call });
}

/** Starts the read-only console over the world's partner-a and partner-b, from source. */
export async function startWorldConsole(
  partnerA: PartnerProcess,
  partnerB: PartnerProcess,
): Promise<ServiceProcess> {
  return startServiceProcess({
    name: "console",
    entry: "src/server.ts",
    cwd: join(REPO_ROOT, "packages", "console"),
    env: {
      SHARE_BROKER_NO_DEV_ENV: "1",
      LOG_LEVEL: "info",
      PARTNER_A_URL: partnerA.url,
      PARTNER_A_API_KEY: API_KEYS["partner-a"],
      PARTNER_B_URL: partnerB.url,
      PARTNER_B_API_KEY: API_KEYS["partner-b"],
    },
  });
}

/** The sandbox's control API and a Didit client per application. */
export function sandboxOf(world: World) {
  const base = `http://127.0.0.1:${world.ports.sandbox}`;
  return {
    base,
    client: (partner: PartnerId) =>
      new DiditClient({ baseUrl: base, apiKey: apps[partner].apiKey, maxRetries: 0 }),
    control: async <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${CONTROL_KEY}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json().catch(() => ({}))) as T };
    },
  };
}

/** Envelope tools acting as a given partner of the world (to open offers or forge results). */
export async function actAs(world: World, partner: PartnerId) {
  const keys = await loadPartnerPrivateKeys(world.keysDir(partner));
  const registry = await loadPartnerRegistry(world.partnersFile);
  return {
    opener: createEnvelopeOpener({ self: partner, keys, registry }),
    sealer: createEnvelopeSealer({ self: partner, keys, registry }),
  };
}

/** Direct access to a world's queues, for inspecting or injecting jobs. */
export function queueOf(world: World, name: string) {
  const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix: world.prefix });
  return {
    queue,
    jobs: async () => queue.getJobs(["waiting", "active", "completed", "failed", "delayed", "prioritized"]),
    close: async () => {
      await queue.close();
      await connection.quit();
    },
  };
}

/** Deletes every Redis key of the world's channel: what a Redis crash without persistence does. */
export async function flushChannel(world: World): Promise<number> {
  const redis = new Redis(testRedisUrl());
  try {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${world.prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.quit();
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export const newUserId = () => `user-${randomUUID().slice(0, 8)}`;
export { REPO_ROOT };
