import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiditClient } from "@share-broker/didit";
import { type ServiceProcess, startServiceProcess } from "@share-broker/testing";
import { WebhookReceiver } from "./webhook-receiver.js";

export const SANDBOX_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const FIXTURE_APPLICATIONS = join(SANDBOX_ROOT, "test", "fixtures", "applications.json");
export const CONTROL_KEY = "test-sandbox-control-key-4e9d1a27";

/** The applications of test/fixtures/applications.json. */
export const APP_A = {
  id: "0a000000-0000-4000-8000-00000000000a",
  apiKey: "test-didit-key-app-a-7f3e91",
  webhookSecret: "test-webhook-secret-app-a-52c1d8",
  kyc: "0a000000-0000-4000-8000-0000000000a1",
  reusableKyc: "0a000000-0000-4000-8000-0000000000a2",
  kyb: "0a000000-0000-4000-8000-0000000000a3",
} as const;
export const APP_B = {
  id: "0b000000-0000-4000-8000-00000000000b",
  apiKey: "test-didit-key-app-b-1d8a44",
  webhookSecret: "test-webhook-secret-app-b-9e07fa",
  kyc: "0b000000-0000-4000-8000-0000000000b1",
  kyb: "0b000000-0000-4000-8000-0000000000b3",
} as const;
export const APP_C = {
  id: "0c000000-0000-4000-8000-00000000000c",
  apiKey: "test-didit-key-app-c-6b2f10",
  webhookSecret: "test-webhook-secret-app-c-3a9b7e",
  kyc: "0c000000-0000-4000-8000-0000000000c1",
} as const;
export const APP_D_DELETED = {
  id: "0d000000-0000-4000-8000-00000000000d",
  apiKey: "test-didit-key-app-d-0c5e22",
  webhookSecret: "test-webhook-secret-app-d-77d0c4",
} as const;

export const ALL_SECRETS = [
  CONTROL_KEY,
  ...[APP_A, APP_B, APP_C, APP_D_DELETED].flatMap((app) => [app.apiKey, app.webhookSecret]),
];

/** A copy of the fixture file with some applications' webhook URLs set, in a fresh temp folder. */
export function applicationsWithWebhooks(urls: Record<string, string>): string {
  const file = JSON.parse(readFileSync(FIXTURE_APPLICATIONS, "utf8")) as {
    applications: { application_id: string; webhook_url: string | null }[];
  };
  for (const application of file.applications) {
    const url = urls[application.application_id];
    if (url !== undefined) application.webhook_url = url;
  }
  const path = join(mkdtempSync(join(tmpdir(), "didit-sandbox-test-")), "applications.json");
  writeFileSync(path, JSON.stringify(file));
  return path;
}

export interface Sandbox {
  process: ServiceProcess;
  url: string;
  client: (apiKey: string, options?: { timeoutMs?: number }) => DiditClient;
  /** Raw Didit API call, for what the typed client will not send. */
  api: (
    method: string,
    path: string,
    options?: { apiKey?: string | null; body?: unknown; raw?: string },
  ) => Promise<Response>;
  control: <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: T }>;
  reset: () => Promise<void>;
  stop: () => Promise<void>;
}

/** Starts the sandbox as a real child process, the way it runs in the stack. */
export async function startSandbox(env: Record<string, string> = {}): Promise<Sandbox> {
  const service = await startServiceProcess({
    name: "didit-sandbox",
    entry: "src/server.ts",
    cwd: SANDBOX_ROOT,
    env: {
      SANDBOX_CONFIG: FIXTURE_APPLICATIONS,
      SANDBOX_CONTROL_KEY: CONTROL_KEY,
      LOG_LEVEL: "info",
      SHARE_BROKER_NO_DEV_ENV: "1",
      NODE_ENV: "test",
      ...env,
    },
  });
  const clients: DiditClient[] = [];
  const sandbox: Sandbox = {
    process: service,
    url: service.url,
    client: (apiKey, options = {}) => {
      const client = new DiditClient({ baseUrl: service.url, apiKey, maxRetries: 0, ...options });
      clients.push(client);
      return client;
    },
    api: (method, path, options = {}) => {
      const headers: Record<string, string> = {};
      if (options.apiKey !== null) headers["x-api-key"] = options.apiKey ?? APP_A.apiKey;
      const hasBody = options.body !== undefined || options.raw !== undefined;
      if (hasBody) headers["content-type"] = "application/json";
      return fetch(`${service.url}${path}`, {
        method,
        headers,
        body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
        redirect: "manual",
      });
    },
    control: async (method, path, body) => {
      const response = await fetch(`${service.url}/sandbox${path}`, {
        method,
        headers: {
          authorization: `Bearer ${CONTROL_KEY}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    reset: async () => {
      const { status } = await sandbox.control("POST", "/reset");
      if (status !== 204) throw new Error(`reset answered ${status}`);
    },
    stop: async () => {
      await Promise.all(clients.map((client) => client.close()));
      await service.stop();
    },
  };
  return sandbox;
}

/** Creates a session on `workflowId` and finishes it through the control API. */
export async function finishedSession(
  sandbox: Sandbox,
  apiKey: string,
  workflowId: string,
  status: "Approved" | "Declined" | "In Review" = "Approved",
  vendorData = `user-${Math.random().toString(36).slice(2, 10)}`,
): Promise<string> {
  const created = await sandbox
    .client(apiKey)
    .createSession({ workflow_id: workflowId, vendor_data: vendorData });
  const completed = await sandbox.control("POST", `/sessions/${created.session_id}/complete`, { status });
  if (completed.status !== 200) throw new Error(`complete answered ${completed.status}`);
  return created.session_id;
}

/** A response body read as JSON of an expected shape (the tests assert the shape). */
export async function jsonOf<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Resolves with what `promise` rejected with; fails the test when it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, got a result");
}

/** A webhook receiver, and a sandbox whose applications A and B deliver to it (at `/a` and `/b`). */
export async function startSandboxWithWebhooks(
  env: Record<string, string>,
): Promise<{ receiver: WebhookReceiver; sandbox: Sandbox }> {
  const receiver = await WebhookReceiver.start();
  try {
    const sandbox = await startSandbox({
      SANDBOX_CONFIG: applicationsWithWebhooks({
        [APP_A.id]: `${receiver.url}/a`,
        [APP_B.id]: `${receiver.url}/b`,
      }),
      ...env,
    });
    return { receiver, sandbox };
  } catch (error) {
    await receiver.close();
    throw error;
  }
}
