import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PartnerName, startPartner, testKeys } from "./support/services.js";

const partners: PartnerName[] = ["partner-a", "partner-b"];

describe.each(partners)("%s as a real process", (name) => {
  let service: Awaited<ReturnType<typeof startPartner>>;
  const apiKey = testKeys[name].api;

  beforeAll(async () => {
    service = await startPartner(name);
  });
  afterAll(async () => {
    await service?.stop();
    await service?.dropDatabase();
  });

  it("answers /healthz 200 and /readyz 200 with Postgres and Redis ok", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("answers /metrics without a key", async () => {
    const metrics = await fetch(`${service.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(`service="${name}"`);
  });

  it("answers 401 unauthenticated without or with a wrong API key, and echoes the request id", async () => {
    const without = await fetch(`${service.url}/v1/anything`, { headers: { "x-request-id": "req-401" } });
    expect(without.status).toBe(401);
    expect(without.headers.get("x-request-id")).toBe("req-401");
    expect((await without.json()).error.code).toBe("unauthenticated");
    const wrong = await fetch(`${service.url}/v1/anything`, {
      headers: { authorization: "Bearer not-the-key-123456" },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${service.url}/v1/anything`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(right.status).toBe(404);
  });

  it("exits 0 on SIGTERM and never logged a configured secret or authorization value", async () => {
    const { code } = await service.stop("SIGTERM");
    expect(code).toBe(0);
    const output = service.output();
    expect(output).toContain("shutdown complete");
    for (const secret of [apiKey, testKeys[name].didit, testKeys[name].webhook, "not-the-key-123456"]) {
      expect(output).not.toContain(secret);
    }
  });
});

describe.each(partners)("%s misconfigured or cut off", (name) => {
  it("exits non-zero naming a missing variable on stderr, before listening", async () => {
    const service = await startPartner(name, {
      env: { DIDIT_WEBHOOK_SECRET: "", PARTNER_ID: "Bad Id" },
      waitFor: false,
    });
    const { code } = await service.exited;
    await service.dropDatabase();
    expect(code).toBe(1);
    const stderr = service.stderr.join("\n");
    expect(stderr).toContain("DIDIT_WEBHOOK_SECRET is missing");
    expect(stderr).toContain("PARTNER_ID is invalid");
    expect(service.stdout.join("\n")).not.toContain("listening");
  });

  it("answers /readyz 503 with the reason when Redis is unreachable", async () => {
    const service = await startPartner(name, {
      env: { REDIS_URL: "redis://127.0.0.1:1" },
      waitFor: "/healthz",
    });
    try {
      const response = await fetch(`${service.url}/readyz`);
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.status).toBe("not_ready");
      expect(body.checks.redis).toMatch(/redis connection is/);
    } finally {
      await service.stop();
      await service.dropDatabase();
    }
  });

  it("answers /readyz 503 with the reason when Postgres is unreachable", async () => {
    const service = await startPartner(name, {
      databaseUrl: "postgres://postgres@127.0.0.1:1/nowhere",
      waitFor: "/healthz",
    });
    try {
      const response = await fetch(`${service.url}/readyz`);
      expect(response.status).toBe(503);
      expect((await response.json()).checks.postgres).toMatch(/ECONNREFUSED|connect/);
    } finally {
      await service.stop();
    }
  });
});
