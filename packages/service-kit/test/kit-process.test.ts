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
const API_KEY = "kit-test-api-key-0123456789";
const SECRET = "fixture-secret-never-logged-42";

function kitEnv(overrides: Record<string, string> = {}) {
  return {
    API_KEYS: `other-key-abcdefghijklmnop,${API_KEY}`,
    DATABASE_URL: testPostgresUrl(),
    REDIS_URL: testRedisUrl(),
    FIXTURE_SECRET: SECRET,
    LOG_LEVEL: "info",
    ...overrides,
  };
}

/** Polls /readyz until the named check reports ok (connections come up a moment after listen). */
async function untilCheckOk(url: string, check: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const body = await readJson(await fetch(`${url}/readyz`));
    if (body.checks?.[check] === "ok") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${check} never became ok`);
}

function startKit(overrides: Record<string, string> = {}, waitFor: string | false = "/readyz") {
  return startServiceProcess({
    name: "kit-server",
    entry: "test/fixtures/kit-server.ts",
    cwd: KIT_DIR,
    env: kitEnv(overrides),
    waitFor,
  });
}

const auth = { authorization: `Bearer ${API_KEY}` };
const json = { "content-type": "application/json" };

describe("a service built on service-kit, as a real process", () => {
  let kit: ServiceProcess;
  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(async () => {
    await kit?.stop();
  });

  it("answers /healthz and /readyz without an API key", async () => {
    const health = await fetch(`${kit.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await readJson(health)).toEqual({ status: "ok" });
    const ready = await fetch(`${kit.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: "ready" });
    const detailed = await fetch(`${kit.opsUrl}/readyz`);
    expect(detailed.status).toBe(200);
    expect(await readJson(detailed)).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("rejects a request without an API key with 401 unauthenticated", async () => {
    const response = await fetch(`${kit.url}/echo`, { method: "POST", headers: json, body: '{"name":"x"}' });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await readJson(response)).error.code).toBe("unauthenticated");
  });

  it("rejects a wrong API key with 401, and accepts any configured key", async () => {
    const wrong = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${API_KEY}x` },
      body: '{"name":"x"}',
    });
    expect(wrong.status).toBe(401);
    const second = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, authorization: "Bearer other-key-abcdefghijklmnop" },
      body: '{"name":"x"}',
    });
    expect(second.status).toBe(200);
  });

  it("answers 413 payload_too_large for a body over the limit", async () => {
    const response = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, ...auth },
      body: JSON.stringify({ name: "x".repeat(5000) }),
    });
    expect(response.status).toBe(413);
    expect((await readJson(response)).error.code).toBe("payload_too_large");
  });

  it("answers 415 unsupported_media_type for a body that is not JSON", async () => {
    const response = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { "content-type": "text/xml", ...auth },
      body: "<name>x</name>",
    });
    expect(response.status).toBe(415);
    expect((await readJson(response)).error.code).toBe("unsupported_media_type");
  });

  it("answers 400 malformed_json for broken JSON", async () => {
    const response = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, ...auth },
      body: '{"name":',
    });
    expect(response.status).toBe(400);
    expect((await readJson(response)).error.code).toBe("malformed_json");
  });

  it("answers 400 validation_failed naming the field for a schema violation", async () => {
    const response = await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, ...auth },
      body: "{}",
    });
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.error.code).toBe("validation_failed");
    expect(JSON.stringify(body.error.details)).toContain("name");
  });

  it("answers 404 not_found for an unknown route", async () => {
    const response = await fetch(`${kit.url}/nowhere`, { headers: auth });
    expect(response.status).toBe(404);
    expect((await readJson(response)).error.code).toBe("not_found");
  });

  it("answers 500 internal_error without the error's detail", async () => {
    const response = await fetch(`${kit.url}/boom`, { headers: auth });
    expect(response.status).toBe(500);
    const body = await readJson(response);
    expect(body).toEqual({ error: { code: "internal_error", message: "Internal server error." } });
  });

  it("echoes a given X-Request-Id and generates one otherwise", async () => {
    const given = await fetch(`${kit.url}/healthz`, { headers: { "x-request-id": "trace-abc.123" } });
    expect(given.headers.get("x-request-id")).toBe("trace-abc.123");
    const generated = await fetch(`${kit.url}/healthz`);
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await fetch(`${kit.url}/healthz`, { headers: { "x-request-id": "bad id\twith tabs" } });
    expect(forged.headers.get("x-request-id")).not.toBe("bad id\twith tabs");
  });

  it("exposes Prometheus metrics with an HTTP duration histogram by route and status", async () => {
    await fetch(`${kit.url}/nowhere`, { headers: auth });
    const response = await fetch(`${kit.opsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect((await fetch(`${kit.url}/metrics`, { headers: auth })).status).toBe(404);
    const text = await response.text();
    expect(text).toContain("process_cpu_seconds_total");
    expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/echo"[^}]*status_code="413"/);
  });

  it("logs the request id and service name, and never a secret, key or share token", async () => {
    await fetch(`${kit.url}/echo`, {
      method: "POST",
      headers: { ...json, ...auth, "x-request-id": "log-check-1" },
      body: JSON.stringify({ name: "n", share_token: "eyJhbGciOiJIUzI1NiJ9.secret-share-token.sig" }),
    });
    await fetch(`${kit.url}/boom`, { headers: auth });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = kit.stdout.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const echoLine = lines.find((line) => line.msg === "echo" && line.request_id === "log-check-1");
    expect(echoLine).toMatchObject({ service: "kit-server", request_id: "log-check-1" });
    expect(echoLine.body.share_token).toBe("[REDACTED]");
    const output = kit.output();
    expect(output).toContain("request failed");
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(API_KEY);
    expect(output).not.toContain("secret-share-token");
  });
});

describe("service-kit processes under failure", () => {
  it("exits non-zero before listening and names each bad variable on stderr", async () => {
    const kit = await startKit(
      { DATABASE_URL: "", API_KEYS: "short", PORT: "99999", FIXTURE_SECRET: "" },
      false,
    );
    const { code } = await kit.exited;
    expect(code).toBe(1);
    const stderr = kit.stderr.join("\n");
    expect(stderr).toContain("DATABASE_URL is missing");
    expect(stderr).toMatch(/API_KEYS is invalid \(got 5 characters\)/);
    expect(stderr).not.toContain("short");
    expect(stderr).toContain("FIXTURE_SECRET is missing");
    expect(kit.stdout.join("")).not.toContain("listening");
  });

  it("answers /readyz 503 naming Redis on the ops port, and without details on the public one", async () => {
    const kit = await startKit({ REDIS_URL: "redis://127.0.0.1:1" }, "/healthz");
    try {
      await untilCheckOk(kit.opsUrl, "postgres");
      const publicAnswer = await fetch(`${kit.url}/readyz`);
      expect(publicAnswer.status).toBe(503);
      expect(await readJson(publicAnswer)).toEqual({ status: "unavailable" });
      const response = await fetch(`${kit.opsUrl}/readyz`);
      expect(response.status).toBe(503);
      const body = await readJson(response);
      expect(body.status).toBe("not_ready");
      expect(body.checks.postgres).toBe("ok");
      expect(body.checks.redis).not.toBe("ok");
    } finally {
      await kit.stop();
    }
  });

  it("answers /readyz 503 naming Postgres when Postgres is unreachable", async () => {
    const kit = await startKit({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }, "/healthz");
    try {
      await untilCheckOk(kit.opsUrl, "redis");
      const response = await fetch(`${kit.opsUrl}/readyz`);
      expect(response.status).toBe(503);
      const body = await readJson(response);
      expect(body.checks.redis).toBe("ok");
      expect(body.checks.postgres).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await kit.stop();
    }
  });

  it("lets an in-flight request finish on SIGTERM, runs the closers, then exits 0", async () => {
    const kit = await startKit();
    const slow = fetch(`${kit.url}/slow?ms=1500`, { headers: auth });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = kit.stop("SIGTERM");
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ slept: 1500 });
    const { code } = await stopped;
    const output = kit.output();
    expect(code, output).toBe(0);
    expect(output).toContain("postgres pool closed");
    expect(output).toContain('"clean":true');
  });

  it("exits 1 when shutdown outlasts its timeout", async () => {
    const kit = await startKit({ SHUTDOWN_TIMEOUT_MS: "300" });
    const slow = fetch(`${kit.url}/slow?ms=5000`, { headers: auth }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { code } = await kit.stop("SIGTERM");
    await slow;
    expect(code).toBe(1);
    expect(kit.output()).toContain("shutdown timed out");
  });

  it("answers 429 rate_limited with Retry-After past the per-key limit", async () => {
    const kit = await startKit({ RATE_LIMIT_PER_MINUTE: "3" });
    try {
      const responses: Response[] = [];
      for (let i = 0; i < 5; i += 1) responses.push(await fetch(`${kit.url}/nowhere`, { headers: auth }));
      const statuses = responses.map((response) => response.status);
      const last = responses[4] as Response;
      expect(statuses).toEqual([404, 404, 404, 429, 429]);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await readJson(last)).error.code).toBe("rate_limited");
      // Health stays reachable for orchestrators whatever the limit.
      expect((await fetch(`${kit.url}/healthz`)).status).toBe(200);
    } finally {
      await kit.stop();
    }
  });
});
