import { randomUUID } from "node:crypto";
import type { DiditClient } from "@share-broker/didit";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  type TestDatabase,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerBDatabase } from "./support/database.js";
import { type Offer, PartnerAPlayer, type ReceivedResult } from "./support/partner-a.js";
import {
  eventually,
  MIGRATIONS_FOLDER,
  type PartnerBOptions,
  type Sandbox,
  startPartnerB,
  startSandbox,
} from "./support/processes.js";
import { APP_B, createTestWorld, SECRETS, type TestWorld } from "./support/world.js";

const IMPORT_PATH = "/v3/session/import-shared/";

let world: TestWorld;
let sandbox: Sandbox;
let didit: DiditClient;
const databases: TestDatabase[] = [];
const dbs: PartnerBDatabase[] = [];
const players: PartnerAPlayer[] = [];
const processes: ServiceProcess[] = [];

/** A partner-b process on its own database and queues, and Partner A played against it. */
async function partnerBWorld(env: Record<string, string> = {}) {
  const database = await createTestDatabase(MIGRATIONS_FOLDER);
  databases.push(database);
  const db = new PartnerBDatabase(database.url);
  dbs.push(db);
  const options: PartnerBOptions = {
    world,
    sandboxUrl: sandbox.url,
    databaseUrl: database.url,
    queuePrefix: `{${uniqueQueuePrefix("pb")}}`,
    port: await freePort(),
    env,
  };
  const service = await startPartnerB(options);
  processes.push(service);
  const player = await PartnerAPlayer.create(world, sandbox, options.queuePrefix, db);
  players.push(player);
  return { service, player, db, options };
}

let main: Awaited<ReturnType<typeof partnerBWorld>>;

beforeAll(async () => {
  world = await createTestWorld("http://127.0.0.1:9/v1/webhooks/didit");
  sandbox = await startSandbox(world);
  didit = sandbox.client(APP_B.apiKey);
  main = await partnerBWorld();
});

afterAll(async () => {
  await Promise.all(players.map((player) => player.close()));
  await Promise.all(processes.map((service) => service.stop()));
  await sandbox?.stop();
  await Promise.all(dbs.map((db) => db.close()));
  await Promise.all(databases.map((database) => database.drop()));
  world?.cleanup();
});

function results(player: PartnerAPlayer, offer: Offer, count = 1): Promise<ReceivedResult[]> {
  return eventually(async () => {
    const received = await player.resultsFor(offer.shareId);
    return received.length >= count ? received : undefined;
  }, `${count} result(s) for share ${offer.shareId}`);
}

async function diditSessionsOf(vendorData: string) {
  return (await didit.listSessions({ vendor_data: vendorData })).results;
}

async function addFault(fault: Record<string, unknown>) {
  const { status } = await sandbox.control("POST", "/faults", {
    method: "POST",
    path: IMPORT_PATH,
    ...fault,
  });
  expect(status).toBe(201);
}

async function clearFaults() {
  await sandbox.control("DELETE", "/faults");
}

describe("exactly one import per share", () => {
  it("imports once when the same envelope is delivered 20 times concurrently", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await main.player.prepareOffer({ userRef });
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        main.player.deliver(offer.envelope, `${offer.shareId}-d${index}`),
      ),
    );
    await eventually(
      async () => ((await main.player.inboxSettled()) ? true : undefined),
      "the inbox to drain",
    );
    const received = await results(main.player, offer);

    expect(await diditSessionsOf(userRef)).toHaveLength(1);
    const rows = await main.db.importsOfShare(offer.shareId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("imported");
    const audit = await main.db.auditOf(offer.shareId);
    const count = (action: string) => audit.filter((event) => event.action === action).length;
    expect(count("import.received")).toBe(1);
    expect(count("import.imported")).toBe(1);
    expect(count("import.replayed")).toBe(19);
    expect(received.every((result) => result.payload.outcome === "imported")).toBe(true);
    expect(new Set(received.map((result) => result.payload.import_id))).toEqual(
      new Set([rows[0]?.import_id]),
    );
  });

  it("recovers an import whose worker died after Didit imported: one import, recorded as imported", async () => {
    const crashing = await partnerBWorld({ FAILPOINTS: "after-import-call" });
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await crashing.player.share({ userRef });
    const exit = await crashing.service.exited;
    expect(exit.signal).toBe("SIGKILL");
    expect(crashing.service.stderr.join("\n")).toContain("failpoint after-import-call reached");
    // Didit holds the copy; our database still says "importing".
    expect(await diditSessionsOf(userRef)).toHaveLength(1);
    expect((await crashing.db.importsOfShare(offer.shareId))[0]?.status).toBe("importing");

    const restarted = await startPartnerB({ ...crashing.options, env: {} });
    processes.push(restarted);
    const [result] = await results(crashing.player, offer);
    expect(result?.payload).toMatchObject({
      outcome: "imported",
      session_status: "Approved",
      shared_from_session: offer.sessionId,
    });
    expect(await diditSessionsOf(userRef)).toHaveLength(1);
    const rows = await crashing.db.importsOfShare(offer.shareId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.didit_session_id).toBe((await diditSessionsOf(userRef))[0]?.session_id);
    const imported = (await crashing.db.auditOf(offer.shareId)).filter(
      (event) => event.action === "import.imported",
    );
    expect(imported).toHaveLength(1);
    expect(imported[0]?.details.reconciled).toBe(true);
  }, 60_000);
});

describe("a revocation racing an import", () => {
  it("deletes the Didit copy a worker made before dying, once the share is revoked", async () => {
    const crashing = await partnerBWorld({ FAILPOINTS: "after-import-call" });
    const recipientRef = `b-ref-${randomUUID()}`;
    const offer = await crashing.player.share({ userRef: recipientRef });
    expect((await crashing.service.exited).signal).toBe("SIGKILL");
    expect(await diditSessionsOf(recipientRef)).toHaveLength(1);

    // The sharer revokes while partner-b is down; partner-b comes back with both jobs waiting.
    await crashing.player.revoke(offer.shareId);
    const restarted = await startPartnerB({
      ...crashing.options,
      env: { IMPORT_LEASE_SECONDS: "2", RECONCILE_INTERVAL_MS: "300" },
    });
    processes.push(restarted);
    const revoked = await eventually(async () => {
      const received = await crashing.player.resultsFor(offer.shareId);
      return received.find((result) => result.payload.outcome === "revoked");
    }, "a revoked result");
    expect(revoked.payload.consent_withdrawn_at).toBeDefined();
    await eventually(
      async () => ((await diditSessionsOf(recipientRef)).length === 0 ? true : undefined),
      "the copy made before the crash deleted",
    );
    const rows = await crashing.db.importsOfShare(offer.shareId);
    expect(rows).toEqual([expect.objectContaining({ status: "revoked", didit_session_id: null })]);
    const actions = (await crashing.db.auditOf(offer.shareId)).map((event) => event.action);
    expect(actions).toContain("import.revoked_copy_deleted");
    expect(actions).not.toContain("import.imported");
  }, 60_000);
});

describe("transient Didit failures", () => {
  it("retries after 503s with backoff and imports once", async () => {
    await addFault({ status: 503, times: 2 });
    try {
      const userRef = `b-ref-${randomUUID()}`;
      const offer = await main.player.share({ userRef });
      const [result] = await results(main.player, offer);
      expect(result?.payload.outcome).toBe("imported");
      expect(await diditSessionsOf(userRef)).toHaveLength(1);
      const audit = await main.db.auditOf(offer.shareId);
      expect(audit.filter((event) => event.action === "import.retry_scheduled")).toHaveLength(2);
      expect(audit.filter((event) => event.action === "import.imported")).toHaveLength(1);
    } finally {
      await clearFaults();
    }
  });

  it("honours Retry-After on 429 and imports once", async () => {
    await addFault({ status: 429, times: 2, retry_after_seconds: 1 });
    try {
      const userRef = `b-ref-${randomUUID()}`;
      const started = Date.now();
      const offer = await main.player.share({ userRef });
      const [result] = await results(main.player, offer);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(result?.payload.outcome).toBe("imported");
      expect(await diditSessionsOf(userRef)).toHaveLength(1);
      const retries = (await main.db.auditOf(offer.shareId)).filter(
        (event) => event.action === "import.retry_scheduled",
      );
      expect(retries).toHaveLength(2);
    } finally {
      await clearFaults();
    }
  });

  it("rejects as expired_in_transit when Didit stays unavailable past the token's expiry", async () => {
    // The token lives 60 s; Didit asks for an hour's patience.
    await addFault({ status: 429, times: null, retry_after_seconds: 3600 });
    try {
      const userRef = `b-ref-${randomUUID()}`;
      const offer = await main.player.share({ userRef, ttlSeconds: 60 });
      const [result] = await results(main.player, offer);
      expect(result?.payload).toMatchObject({ outcome: "rejected", reason: "expired_in_transit" });
      const rows = await main.db.importsOfShare(offer.shareId);
      expect(rows).toEqual([expect.objectContaining({ status: "rejected", reason: "expired_in_transit" })]);
      await clearFaults();
      expect(await diditSessionsOf(userRef)).toHaveLength(0);
    } finally {
      await clearFaults();
    }
  });

  it("logged and stored no share token, API key or webhook secret", async () => {
    const tokens = players.flatMap((player) => player.tokens);
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    const dumps = await Promise.all(dbs.map((db) => db.dumpAllTables()));
    const output = processes.map((service) => service.output()).join("\n");
    for (const secret of [...tokens, ...SECRETS]) {
      for (const dump of dumps) expect(dump).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
  });
});
