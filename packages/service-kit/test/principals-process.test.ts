import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  readJson,
  type ServiceProcess,
  startServiceProcess,
  testPostgresUrl,
  testRedisUrl,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const KIT_DIR = fileURLToPath(new URL("..", import.meta.url));
const READER_KEY = "kit-reader-key-0123456789abcdef";
const ADMIN_KEY = "kit-admin-key-0123456789abcdef";
const FALLBACK_KEY = "kit-fallback-key-0123456789ab";
const sha256 = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

const dir = mkdtempSync(join(tmpdir(), "kit-principals-"));
function writeKeysFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}
const goodFile = writeKeysFile("good.json", [
  { name: "console", scopes: ["shares:read", "audit:read"], key_sha256: sha256(READER_KEY) },
  { name: "operator", scopes: ["admin"], key_sha256: sha256(ADMIN_KEY) },
]);

function startKit(env: Record<string, string>, waitFor: string | false = "/healthz") {
  return startServiceProcess({
    name: "kit-server",
    entry: "test/fixtures/kit-server.ts",
    cwd: KIT_DIR,
    env: {
      DATABASE_URL: testPostgresUrl(),
      REDIS_URL: testRedisUrl(),
      FIXTURE_SECRET: "fixture-secret-never-logged-42",
      LOG_LEVEL: "debug",
      API_KEYS: "",
      API_KEYS_FILE: "",
      ...env,
    },
    waitFor,
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("principals from API_KEYS_FILE, as a real process", () => {
  let kit: ServiceProcess;
  beforeAll(async () => {
    kit = await startKit({ API_KEYS_FILE: goodFile });
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it("lets a read-only principal read, naming it as the acting principal", async () => {
    const response = await fetch(`${kit.url}/scoped/read`, { headers: bearer(READER_KEY) });
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ principal: "console", acting: "console" });
  });

  it("refuses a read-only principal's write with 403 insufficient_scope naming the scope", async () => {
    const response = await fetch(`${kit.url}/scoped/write`, { method: "POST", headers: bearer(READER_KEY) });
    expect(response.status).toBe(403);
    const body = await readJson(response);
    expect(body.error.code).toBe("insufficient_scope");
    expect(body.error.message).toContain("shares:write");
  });

  it("lets admin do everything, and keeps the principal across awaits", async () => {
    const read = await fetch(`${kit.url}/scoped/read`, { headers: bearer(ADMIN_KEY) });
    expect(read.status).toBe(200);
    const write = await fetch(`${kit.url}/scoped/write`, { method: "POST", headers: bearer(ADMIN_KEY) });
    expect(write.status).toBe(200);
    expect(await readJson(write)).toEqual({ principal: "operator", acting: "operator" });
  });

  it("answers 401 to a key that is in no entry, and never logs a key", async () => {
    const wrong = await fetch(`${kit.url}/scoped/read`, { headers: bearer(`${READER_KEY}x`) });
    expect(wrong.status).toBe(401);
    expect((await readJson(wrong)).error.code).toBe("unauthenticated");
    const output = kit.stdout.join("\n") + kit.stderr.join("\n");
    expect(output).toContain("request completed");
    expect(output).not.toContain(READER_KEY);
    expect(output).not.toContain(ADMIN_KEY);
  });
});

describe("API_KEYS, the fallback", () => {
  it("maps each key to a principal with every scope, named by position", async () => {
    const kit = await startKit({ API_KEYS: `other-key-abcdefghijklmnop,${FALLBACK_KEY}` });
    try {
      const write = await fetch(`${kit.url}/scoped/write`, { method: "POST", headers: bearer(FALLBACK_KEY) });
      expect(write.status).toBe(200);
      expect(await readJson(write)).toEqual({ principal: "api-key-2", acting: "api-key-2" });
    } finally {
      await kit.stop();
    }
  });
});

describe("bad principal configuration stops the process before it listens", () => {
  async function refusal(env: Record<string, string>): Promise<string> {
    const kit = await startKit(env, false);
    const { code } = await kit.exited;
    expect(code).toBe(1);
    expect(kit.stdout.join("")).not.toContain("listening");
    return kit.stderr.join("\n");
  }

  it("names the malformed entry and field", async () => {
    const path = writeKeysFile("bad.json", [
      { name: "operator", scopes: ["admin"], key_sha256: sha256(ADMIN_KEY) },
      { name: "console", scopes: ["shares:read", "everything"], key_sha256: "not-a-hash" },
    ]);
    const stderr = await refusal({ API_KEYS_FILE: path });
    expect(stderr).toContain("kit-server: cannot start, invalid configuration");
    expect(stderr).toContain("API_KEYS_FILE entry 2 scopes is invalid");
    expect(stderr).toContain("API_KEYS_FILE entry 2 key_sha256 is invalid");
  });

  it("says so when the file is not JSON", async () => {
    const stderr = await refusal({ API_KEYS_FILE: writeKeysFile("broken.json", "[{") });
    expect(stderr).toContain("API_KEYS_FILE is not valid JSON");
  });

  it("refuses API_KEYS and API_KEYS_FILE together, without echoing the key", async () => {
    const stderr = await refusal({ API_KEYS_FILE: goodFile, API_KEYS: FALLBACK_KEY });
    expect(stderr).toContain("API_KEYS and API_KEYS_FILE are both set");
    expect(stderr).not.toContain(FALLBACK_KEY);
  });

  it("refuses to start with neither", async () => {
    const stderr = await refusal({});
    expect(stderr).toContain("API_KEYS_FILE is missing");
  });
});
