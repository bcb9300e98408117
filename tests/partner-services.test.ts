import { readJson, type ServiceProcess } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL_SECRETS,
  API_KEYS,
  createWorld,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "./support/world.js";

const partners = ["partner-a", "partner-b"] as const;
type PartnerName = (typeof partners)[number];

let world: World;
let sandbox: ServiceProcess;
beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
});
afterAll(async () => {
  await sandbox?.stop();
});

const startPartner = (name: PartnerName, options: Parameters<typeof startWorldPartner>[2] = {}) =>
  startWorldPartner(world, name, options);

describe.each(partners)("%s as a real process", (name) => {
  let service: PartnerProcess;
  const apiKey = API_KEYS[name];

  beforeAll(async () => {
    service = await startPartner(name);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("answers /healthz 200 and /readyz 200 with Postgres and Redis ok", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
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
    expect((await readJson(without)).error.code).toBe("unauthenticated");
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
    for (const secret of [...ALL_SECRETS, "not-the-key-123456"]) {
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
      const body = await readJson(response);
      expect(body.status).toBe("not_ready");
      expect(body.checks.redis).toMatch(/redis connection is/);
    } finally {
      await service.stop();
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
      expect((await readJson(response)).checks.postgres).toMatch(/ECONNREFUSED|connect/);
    } finally {
      await service.stop();
    }
  });
});
