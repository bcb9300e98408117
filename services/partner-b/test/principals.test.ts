import { createHash, randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, type Sandbox, startPartnerB, startSandbox } from "./support/processes.js";
import { createTestWorld, type TestWorld } from "./support/world.js";

const CONSOLE_KEY = "pb-console-key-0123456789abcdef";
const OPERATOR_KEY = "pb-operator-key-0123456789abcdef";
const sha256 = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

let world: TestWorld;
let sandbox: Sandbox;
let database: TestDatabase;
let partnerB: ServiceProcess;
let keysFile: string;

beforeAll(async () => {
  const port = await freePort();
  world = await createTestWorld(`http://127.0.0.1:${port}/v1/webhooks/didit`);
  keysFile = join(world.dir, "api-principals.json");
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: "console", scopes: ["imports:read", "audit:read"], key_sha256: sha256(CONSOLE_KEY) },
      { name: "operator", scopes: ["admin"], key_sha256: sha256(OPERATOR_KEY) },
    ]),
  );
  sandbox = await startSandbox(world);
  database = await createTestDatabase(MIGRATIONS_FOLDER);
  partnerB = await startPartnerB({
    world,
    sandboxUrl: sandbox.url,
    databaseUrl: database.url,
    queuePrefix: `{${uniqueQueuePrefix("pbp")}}`,
    port,
    env: { API_KEYS: "", API_KEYS_FILE: keysFile },
  });
});

afterAll(async () => {
  await partnerB?.stop();
  await sandbox?.stop();
  await database?.drop();
  rmSync(keysFile, { force: true });
  world?.cleanup();
});

async function call(key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${partnerB.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
}

describe("partner-b principals from API_KEYS_FILE", () => {
  it("lets the read-only console read imports, the policy and the audit", async () => {
    for (const path of ["/v1/imports", "/v1/policies", "/v1/audit"]) {
      expect((await call(CONSOLE_KEY, "GET", path)).status, path).toBe(200);
    }
  });

  it("refuses the console every write with 403 insufficient_scope naming the scope, changing nothing", async () => {
    const refusals: Array<[string, string, unknown, string]> = [
      ["POST", "/v1/link-requests", { user_ref: "customer-1" }, "links:write"],
      ["POST", `/v1/imports/${randomUUID()}/review`, { decision: "Approved" }, "imports:review"],
      ["DELETE", `/v1/imports/${randomUUID()}`, undefined, "admin"],
    ];
    for (const [method, path, body, scope] of refusals) {
      const answer = await call(CONSOLE_KEY, method, path, body);
      expect(answer.status, path).toBe(403);
      expect(answer.body.error.code).toBe("insufficient_scope");
      expect(answer.body.error.message).toContain(scope);
    }
    const audit = await call(OPERATOR_KEY, "GET", "/v1/audit?action=link_request.created");
    expect(audit.body.events).toEqual([]);
  });

  it("lets the admin operator write, and the audit event names the operator", async () => {
    const created = await call(OPERATOR_KEY, "POST", "/v1/link-requests", { user_ref: "customer-2" });
    expect(created.status).toBe(201);
    const read = await call(OPERATOR_KEY, "GET", `/v1/link-requests/${created.body.link_id}`);
    expect(read.status).toBe(200);
    const audit = await call(CONSOLE_KEY, "GET", "/v1/audit?action=link_request.created");
    expect(audit.status).toBe(200);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0].principal).toBe("operator");
  });

  it("never writes a key to its logs", () => {
    const output = partnerB.stdout.join("\n") + partnerB.stderr.join("\n");
    expect(output).toContain("request completed");
    expect(output).not.toContain(CONSOLE_KEY);
    expect(output).not.toContain(OPERATOR_KEY);
  });
});
