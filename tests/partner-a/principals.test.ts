import { createHash, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceProcess } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unissuedLinkCode } from "../support/partner-a-flow.js";
import {
  createWorld,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

const CONSOLE_KEY = "pa-console-key-0123456789abcdef";
const OPERATOR_KEY = "pa-operator-key-0123456789abcdef";
const sha256 = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;

beforeAll(async () => {
  world = await createWorld();
  const keysFile = join(world.dir, "partner-a-principals.json");
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: "console", scopes: ["shares:read", "audit:read"], key_sha256: sha256(CONSOLE_KEY) },
      { name: "operator", scopes: ["admin"], key_sha256: sha256(OPERATOR_KEY) },
    ]),
  );
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a", { env: { API_KEYS: "", API_KEYS_FILE: keysFile } });
});
afterAll(async () => {
  await partnerA?.stop();
  await sandbox?.stop();
});

async function call(key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${partnerA.url}${path}`, {
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

const consentBody = (userId: string) => ({
  user_id: userId,
  audience: "partner-b",
  purpose: "onboarding",
  scope: "kyc",
  link_code: unissuedLinkCode(),
});

describe("partner-a principals from API_KEYS_FILE", () => {
  it("lets the read-only console read shares and the audit", async () => {
    expect((await call(CONSOLE_KEY, "GET", "/v1/shares")).status).toBe(200);
    expect((await call(CONSOLE_KEY, "GET", "/v1/audit")).status).toBe(200);
  });

  it("refuses the console writes and reads outside its scopes with 403 insufficient_scope, changing nothing", async () => {
    const userId = `user-${randomUUID()}`;
    const refusals: Array<[string, string, unknown, string]> = [
      ["POST", "/v1/verifications", { user_id: userId, kind: "first" }, "consents:write"],
      ["POST", "/v1/consents", consentBody(userId), "consents:write"],
      ["GET", `/v1/consents/${randomUUID()}`, undefined, "consents:read"],
      ["POST", "/v1/shares", { consent_id: randomUUID() }, "shares:write"],
      ["DELETE", `/v1/users/${userId}`, undefined, "admin"],
    ];
    for (const [method, path, body, scope] of refusals) {
      const answer = await call(CONSOLE_KEY, method, path, body);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error.code).toBe("insufficient_scope");
      expect(answer.body.error.message).toContain(scope);
    }
    const audit = await call(OPERATOR_KEY, "GET", "/v1/audit");
    expect(audit.body.events).toEqual([]);
  });

  it("lets the admin operator write, and each audit event names the operator", async () => {
    const userId = `user-${randomUUID()}`;
    const consent = await call(OPERATOR_KEY, "POST", "/v1/consents", consentBody(userId));
    expect(consent.status).toBe(201);
    // Not verified yet: refused, and the refusal is audited too (through the share acceptor).
    const share = await call(OPERATOR_KEY, "POST", "/v1/shares", { consent_id: consent.body.consent_id });
    expect(share.status).toBe(409);
    const audit = await call(CONSOLE_KEY, "GET", "/v1/audit");
    expect(audit.status).toBe(200);
    const events = audit.body.events as Array<{ action: string; principal: string | null }>;
    expect(events.map((event) => [event.action, event.principal]).sort()).toEqual([
      ["consent.granted", "operator"],
      ["share.refused", "operator"],
    ]);
  });

  it("never writes a key to its logs", () => {
    const output = partnerA.stdout.join("\n") + partnerA.stderr.join("\n");
    expect(output).toContain("request completed");
    expect(output).not.toContain(CONSOLE_KEY);
    expect(output).not.toContain(OPERATOR_KEY);
  });
});
