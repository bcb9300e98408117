import { freePort, readJson, type ServiceProcess, uniqueQueuePrefix } from "@share-broker/testing";
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

/** The shipped defaults (docs/OPERATIONS.md); the world raises the webhook one for flow tests. */
const LIMITS = { webhook: 60, auth: 20 };

const startPartner = (name: PartnerName, options: Parameters<typeof startWorldPartner>[2] = {}) =>
  startWorldPartner(world, name, options);

describe.each(partners)("%s as a real process", (name) => {
  let service: PartnerProcess;
  const apiKey = API_KEYS[name];

  beforeAll(async () => {
    service = await startPartner(name, {
      env: {
        WEBHOOK_RATE_LIMIT_PER_MINUTE: String(LIMITS.webhook),
        AUTH_FAILURE_LIMIT_PER_MINUTE: String(LIMITS.auth),
      },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("answers /healthz and a bare /readyz on its port, and the checks on the ops port", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: "ready" });
    const detailed = await fetch(`${service.opsUrl}/readyz`);
    expect(detailed.status).toBe(200);
    expect(await readJson(detailed)).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("answers /metrics without a key on the ops port only", async () => {
    const metrics = await fetch(`${service.opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(`service="${name}"`);
    const onPublicPort = await fetch(`${service.url}/metrics`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(onPublicPort.status).toBe(404);
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

  it("refuses a webhook body over 256 KiB with 413 payload_too_large", async () => {
    const response = await fetch(`${service.url}/v1/webhooks/didit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ padding: "x".repeat(300 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect((await readJson(response)).error.code).toBe("payload_too_large");
  });

  it("limits one client's junk Bearer tokens per address: 429 rate_limited, never a 5xx, the real key still served", async () => {
    const protectedPath = name === "partner-a" ? "/v1/shares" : "/v1/imports";
    for (const path of ["/v1/webhooks/didit", protectedPath]) {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const response = await fetch(`${service.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer junk-${path}-${attempt}`, "content-type": "application/json" },
          body: "{}",
        });
        statuses.push(response.status);
        if (response.status === 429) {
          expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
          expect((await readJson(response)).error.code).toBe("rate_limited");
        } else {
          await response.arrayBuffer();
        }
      }
      expect(
        statuses.filter((status) => status >= 500),
        path,
      ).toEqual([]);
      // Earlier tests spent part of the address's budget; once limited, it stays limited.
      const firstLimited = statuses.indexOf(429);
      expect(firstLimited, path).toBeGreaterThan(0);
      expect(firstLimited, path).toBeLessThanOrEqual(path === protectedPath ? LIMITS.auth : LIMITS.webhook);
      expect(
        statuses.slice(firstLimited).every((status) => status === 429),
        path,
      ).toBe(true);
    }
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

describe("partner-a replicas", () => {
  it("share one failed-authentication budget per address through Redis", async () => {
    // Their own key prefix: the processes above spent this address's budget under the world's.
    const env = {
      QUEUE_PREFIX: `{${uniqueQueuePrefix()}}`,
      AUTH_FAILURE_LIMIT_PER_MINUTE: "10",
      RATE_LIMIT_STORE: "redis",
    };
    const first = await startPartner("partner-a", { env: { ...env, PORT: String(await freePort()) } });
    const second = await startPartner("partner-a", { env: { ...env, PORT: String(await freePort()) } });
    try {
      const statusesOf = async (replica: ServiceProcess) => {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 6; attempt += 1) {
          const response = await fetch(`${replica.url}/v1/shares`, {
            headers: { authorization: `Bearer junk-replica-${attempt}` },
          });
          await response.arrayBuffer();
          statuses.push(response.status);
        }
        return statuses;
      };
      expect(await statusesOf(first)).toEqual([401, 401, 401, 401, 401, 401]);
      expect(await statusesOf(second)).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
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
      const publicAnswer = await fetch(`${service.url}/readyz`);
      expect(publicAnswer.status).toBe(503);
      expect(await publicAnswer.text()).toBe('{"status":"unavailable"}');
      const response = await fetch(`${service.opsUrl}/readyz`);
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
      const publicAnswer = await fetch(`${service.url}/readyz`);
      expect(publicAnswer.status).toBe(503);
      expect(await publicAnswer.text()).toBe('{"status":"unavailable"}');
      const response = await fetch(`${service.opsUrl}/readyz`);
      expect(response.status).toBe(503);
      expect((await readJson(response)).checks.postgres).toMatch(/ECONNREFUSED|connect/);
    } finally {
      await service.stop();
    }
  });
});
