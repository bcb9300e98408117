import { randomUUID } from "node:crypto";
import { readJson, type ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentFor, shareReaches, verifiedUser } from "../support/partner-a-flow.js";
import {
  createWorld,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a");
});
afterAll(async () => {
  await partnerA?.stop();
  await sandbox?.stop();
});

interface Row {
  shareId: string;
  userId: string;
  status: string;
  createdAt: string;
}

/** Shares written straight into the table, so several can share one created_at to the microsecond. */
async function insertShares(rows: Row[]): Promise<void> {
  const client = new pg.Client({ connectionString: partnerA.databaseUrl });
  await client.connect();
  try {
    for (const row of rows) {
      await client.query(
        `insert into shares (share_id, consent_id, user_id, session_id, audience, purpose, scope, ttl_seconds,
           status, created_at, updated_at)
         values ($1, $2, $3, $4, 'partner-b', 'onboarding', 'kyc', 900, $5, $6, $6)`,
        [row.shareId, randomUUID(), row.userId, randomUUID(), row.status, row.createdAt],
      );
    }
  } finally {
    await client.end();
  }
}

async function allPages(query: string, limit: number): Promise<Array<Record<string, any>>> {
  const seen: Array<Record<string, any>> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page += 1) {
    const response = await partnerA.call(
      "GET",
      `/v1/shares?limit=${limit}${query ? `&${query}` : ""}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(response.status).toBe(200);
    const body = await readJson(response);
    expect(body.shares.length).toBeLessThanOrEqual(limit);
    seen.push(...body.shares);
    cursor = body.next_cursor;
    if (cursor === null) return seen;
  }
  throw new Error("pagination never ended");
}

describe("GET /v1/shares", () => {
  it("lists shares newest first, with the share view and the user", async () => {
    const userId = await verifiedUser(world, partnerA);
    const accepted: string[] = [];
    for (let share = 0; share < 2; share += 1) {
      const response = await partnerA.call("POST", "/v1/shares", {
        consent_id: await consentFor(partnerA, userId),
      });
      accepted.push((await readJson(response)).share_id);
    }
    for (const shareId of accepted) await shareReaches(partnerA, shareId, "sent");

    const body = await readJson(await partnerA.call("GET", `/v1/shares?user_id=${userId}`));
    expect(body.next_cursor).toBeNull();
    expect(body.shares.map((share: { share_id: string }) => share.share_id)).toEqual([...accepted].reverse());
    expect(body.shares[0]).toMatchObject({
      share_id: accepted[1],
      user_id: userId,
      status: "sent",
      audience: "partner-b",
      purpose: "onboarding",
      scope: "kyc",
      import: null,
    });
    expect(body.shares[0].expires_at).not.toBeNull();
    const one = await readJson(await partnerA.call("GET", `/v1/shares/${accepted[0]}`));
    expect(one).toMatchObject({ share_id: accepted[0], user_id: userId });
  });

  it("pages with a stable cursor, even through shares created in the same microsecond", async () => {
    const userId = `list-ties-${randomUUID().slice(0, 8)}`;
    const tie = "2030-01-01T00:00:00.123456Z";
    const rows: Row[] = [
      { shareId: randomUUID(), userId, status: "cancelled", createdAt: "2030-01-01T00:00:00.123457Z" },
      ...Array.from({ length: 5 }, () => ({
        shareId: randomUUID(),
        userId,
        status: "failed",
        createdAt: tie,
      })),
      { shareId: randomUUID(), userId, status: "cancelled", createdAt: "2030-01-01T00:00:00.123455Z" },
    ];
    await insertShares(rows);
    const expected = [
      rows[0]?.shareId,
      ...rows
        .slice(1, 6)
        .map((row) => row.shareId)
        .sort()
        .reverse(),
      rows[6]?.shareId,
    ];
    for (const limit of [1, 2, 3, 7, 50]) {
      const listed = await allPages(`user_id=${userId}`, limit);
      expect(listed.map((share) => share.share_id)).toEqual(expected);
    }
  });

  it("filters by status and by user", async () => {
    const userId = `list-filter-${randomUUID().slice(0, 8)}`;
    const other = `list-other-${randomUUID().slice(0, 8)}`;
    await insertShares([
      { shareId: randomUUID(), userId, status: "expired", createdAt: "2031-01-01T00:00:00Z" },
      { shareId: randomUUID(), userId, status: "rejected", createdAt: "2031-01-01T00:00:01Z" },
      { shareId: randomUUID(), userId: other, status: "expired", createdAt: "2031-01-01T00:00:02Z" },
    ]);
    const expiredOfUser = await allPages(`user_id=${userId}&status=expired`, 10);
    expect(expiredOfUser.map((share) => [share.user_id, share.status])).toEqual([[userId, "expired"]]);
    const expired = await allPages("status=expired", 10);
    expect(expired.map((share) => share.user_id)).toEqual([other, userId]);
    expect(expired.every((share) => share.status === "expired")).toBe(true);
  });

  it("refuses a cursor it did not issue, an unknown status and a limit out of range with 400", async () => {
    const forged = Buffer.from("12:not-a-share").toString("base64url");
    const cursor = await partnerA.call("GET", `/v1/shares?cursor=${forged}`);
    expect(cursor.status).toBe(400);
    expect((await readJson(cursor)).error.code).toBe("invalid_cursor");
    expect((await partnerA.call("GET", "/v1/shares?status=lost")).status).toBe(400);
    expect((await partnerA.call("GET", "/v1/shares?limit=0")).status).toBe(400);
    expect((await partnerA.call("GET", "/v1/shares?limit=201")).status).toBe(400);
  });

  it("needs partner-a's Bearer key", async () => {
    const response = await fetch(`${partnerA.url}/v1/shares`);
    expect(response.status).toBe(401);
  });
});
