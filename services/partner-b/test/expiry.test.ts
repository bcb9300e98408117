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
import { APP_B, createTestWorld, type TestWorld } from "./support/world.js";

let world: TestWorld;
let sandbox: Sandbox;
let didit: DiditClient;
let database: TestDatabase;
let db: PartnerBDatabase;
let options: PartnerBOptions;
let player: PartnerAPlayer;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  world = await createTestWorld("http://127.0.0.1:9/v1/webhooks/didit");
  sandbox = await startSandbox(world);
  didit = sandbox.client(APP_B.apiKey);
  database = await createTestDatabase(MIGRATIONS_FOLDER);
  db = new PartnerBDatabase(database.url);
  options = {
    world,
    sandboxUrl: sandbox.url,
    databaseUrl: database.url,
    queuePrefix: `{${uniqueQueuePrefix("pb")}}`,
    port: await freePort(),
    // Imports left unfinished are closed one second after their token expired.
    env: { STALE_IMPORT_GRACE_SECONDS: "1", RECONCILE_INTERVAL_MS: "300" },
  };
  player = await PartnerAPlayer.create(world, sandbox, options.queuePrefix, db);
});

afterAll(async () => {
  await player?.close();
  await Promise.all(processes.map((service) => service.stop()));
  await sandbox?.stop();
  await db?.close();
  await database?.drop();
  world?.cleanup();
});

async function start(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await startPartnerB({ ...options, env: { ...options.env, ...env } });
  processes.push(service);
  return service;
}

function results(offer: Offer, count = 1): Promise<ReceivedResult[]> {
  return eventually(async () => {
    const received = await player.resultsFor(offer.shareId);
    return received.length >= count ? received : undefined;
  }, `${count} result(s) for share ${offer.shareId}`);
}

async function diditSessionsOf(vendorData: string) {
  return (await didit.listSessions({ vendor_data: vendorData })).results;
}

describe("imports that outlive their token", () => {
  it("finds an import whose delivery Redis lost after Didit imported, once the token has expired", async () => {
    const crashing = await start({ FAILPOINTS: "after-import-call" });
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await player.share({ userRef });
    expect((await crashing.exited).signal).toBe("SIGKILL");
    await player.loseInbox();
    // As if the token's 900 s had passed while partner-b was down.
    await db.query(
      `update imports set token_expires_at = now() - interval '10 seconds',
         leased_until = now() - interval '5 seconds' where share_id = $1`,
      [offer.shareId],
    );

    await start();
    const [result] = await results(offer);
    expect(result?.payload).toMatchObject({ outcome: "imported", shared_from_session: offer.sessionId });
    expect(await diditSessionsOf(userRef)).toHaveLength(1);
    const imported = (await db.auditOf(offer.shareId)).filter((event) => event.action === "import.imported");
    expect(imported).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ reconciled: true }) }),
    ]);
  }, 60_000);

  it("closes as failed an import no delivery finished before its token expired", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await player.prepareOffer({ userRef });
    // A receipt whose delivery vanished before the import was attempted.
    await db.query(
      `insert into imports (import_id, source_partner, share_id, status, vendor_data, token_hash, token_id,
         token_expires_at, claimed_source_session, user_pseudonym, purpose, scope)
       values ($1, 'partner-a', $2, 'received', $3, 'h', 't', now() - interval '10 seconds', $4, 'u_x', 'p', 'kyc')`,
      [randomUUID(), offer.shareId, userRef, offer.sessionId],
    );
    const [result] = await results(offer);
    expect(result?.payload).toMatchObject({ outcome: "failed", reason: "not_completed_before_token_expiry" });
    expect((await db.importsOfShare(offer.shareId))[0]?.status).toBe("failed");
    expect(await diditSessionsOf(userRef)).toHaveLength(0);
  });

  it("rejects a token Didit finds expired (token_expired_or_invalid) without importing", async () => {
    const userRef = `b-ref-${randomUUID()}`;
    const offer = await player.prepareOffer({ userRef, ttlSeconds: 60 });
    // Didit's clock passes the token's expiry; partner-b's own clock still thinks it valid.
    expect((await sandbox.control("POST", "/clock", { advance_seconds: 120 })).status).toBe(200);
    await player.deliver(offer.envelope, offer.shareId);
    const [result] = await results(offer);
    expect(result?.payload).toMatchObject({ outcome: "rejected", reason: "token_expired_or_invalid" });
    const rows = await db.importsOfShare(offer.shareId);
    expect(rows).toEqual([
      expect.objectContaining({ status: "rejected", reason: "token_expired_or_invalid" }),
    ]);
    expect(
      (await db.auditOf(offer.shareId)).filter((event) => event.action === "import.rejected"),
    ).toHaveLength(1);
    expect(await diditSessionsOf(userRef)).toHaveLength(0);
  });
});
