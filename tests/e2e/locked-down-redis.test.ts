import { readFileSync } from "node:fs";
import {
  createTlsMaterial,
  type RedisServer,
  readJson,
  type ServiceProcess,
  startRedisServer,
} from "@share-broker/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  consentFor,
  linkCodeAt,
  requestShare,
  shareReaches,
  verifiedUser,
} from "../support/partner-a-flow.js";
import {
  createWorld,
  eventually,
  type PartnerProcess,
  REPO_ROOT,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

/**
 * Both partners on a Redis that speaks only TLS and loads the shipped ACL file
 * (infra/redis/users.acl): each connects as its own user with `rediss://user:password@…`, trusting
 * the test CA through NODE_EXTRA_CA_CERTS as a private-CA deployment would. The queue prefix is the
 * shipped default, the one the ACL patterns name.
 */
const ACL_FILE = `${REPO_ROOT}infra/redis/users.acl`;
const PASSWORDS = {
  "partner-a": "dev-partner-a-redis-password",
  "partner-b": "dev-partner-b-redis-password",
} as const;

let world: World;
let redis: RedisServer;
let caFile: string;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let partnerB: PartnerProcess;

const redisUrlOf = (user: keyof typeof PASSWORDS) =>
  `rediss://${user}:${PASSWORDS[user]}@127.0.0.1:${redis.port}`;

beforeAll(async () => {
  world = await createWorld();
  const tls = createTlsMaterial(world.dir);
  caFile = tls.caFile;
  redis = await startRedisServer({
    tls,
    args: ["--aclfile", ACL_FILE],
    // The default user may only PING: enough for readiness, nothing else.
    probe: (port) => ({
      url: `rediss://127.0.0.1:${port}`,
      options: { tls: { ca: readCa() }, enableReadyCheck: false },
    }),
  });
  sandbox = await startSandbox(world);
  const lockedDown = (partner: keyof typeof PASSWORDS) => ({
    REDIS_URL: redisUrlOf(partner),
    QUEUE_PREFIX: "{share-broker}",
    NODE_EXTRA_CA_CERTS: caFile,
  });
  partnerA = await startWorldPartner(world, "partner-a", { env: lockedDown("partner-a") });
  partnerB = await startWorldPartner(world, "partner-b", {
    env: { ...lockedDown("partner-b"), RESULT_POLL_MS: "100" },
  });
}, 60_000);

afterAll(async () => {
  await partnerB?.stop();
  await partnerA?.stop();
  await sandbox?.stop();
  await redis?.stop();
});

const readCa = (): Buffer => readFileSync(caFile);

describe("both partners on a TLS-only Redis with an ACL user each", () => {
  it("are ready, and their ops readiness checks Redis through TLS", async () => {
    for (const partner of [partnerA, partnerB]) {
      const ready = await fetch(`${partner.opsUrl}/readyz`);
      expect(await readJson(ready)).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
    }
  });

  it("carry a share from partner-a to an import at partner-b and the result back", async () => {
    const linkCode = await linkCodeAt(partnerB, "b-tls-customer");
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId, { link_code: linkCode });
    const shareId = await requestShare(partnerA, consentId);
    const share = await shareReaches(partnerA, shareId, "imported", 30_000);
    expect(share.import?.session_status).toBe("Approved");
    const imported = await eventually(async () => {
      const body = await readJson(await partnerB.call("GET", `/v1/imports?share_id=${shareId}`));
      return body.imports?.[0]?.status === "imported" ? body.imports[0] : undefined;
    });
    expect(imported.vendor_data).toBe("b-tls-customer");
    // Neither partner reported a Redis permission problem on the way.
    for (const partner of [partnerA, partnerB])
      expect(partner.output()).not.toMatch(/NOPERM|no permissions/i);
  });

  it("is not reachable in plaintext, nor with a partner's password over TLS as the other partner", async () => {
    const plaintext = new Redis(`redis://partner-a:${PASSWORDS["partner-a"]}@127.0.0.1:${redis.port}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2_000,
    });
    plaintext.on("error", () => undefined);
    await expect(plaintext.connect().then(() => plaintext.ping())).rejects.toThrow();
    plaintext.disconnect();

    const impostor = new Redis(`rediss://partner-b:${PASSWORDS["partner-a"]}@127.0.0.1:${redis.port}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      tls: { ca: readCa() },
    });
    const refusals: string[] = [];
    impostor.on("error", (error: Error) => refusals.push(error.message));
    await expect(impostor.connect()).rejects.toThrow();
    expect(refusals.join("\n")).toMatch(/WRONGPASS/);
    impostor.disconnect();
  });
});
