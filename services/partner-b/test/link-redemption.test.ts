import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { ImportStore, type Lease, type Receipt, type ReceivedOffer } from "../src/imports/import-store.js";
import { inProcessPartnerB } from "./support/in-process.js";
import { copyOf, offerOf, userRefOf } from "./support/offers.js";

// Redeeming a link code is part of the receipt's one statement. These tests race receipts in
// separate statements (separate stores, so no group commit puts them in one batch) against a real
// Postgres: a code is spent exactly once, and only by an import that exists.

let b: Awaited<ReturnType<typeof inProcessPartnerB>>;

beforeAll(async () => {
  b = await inProcessPartnerB();
});

afterAll(async () => {
  await b?.close();
});

const lease: Lease = {
  seconds: 30,
  policy: { workflowId: randomUUID(), trustReview: true, policyVersion: "policy-l" },
};

/** A store of its own: its receipts go in statements of their own, concurrently with other stores'. */
function separateStore(): ImportStore {
  return new ImportStore(b.db, new AuditLog(), b.recorded.fallbacks, { maxBatch: 1, maxInFlight: 1 });
}

async function linkOf(offer: ReceivedOffer) {
  const [row] = await b.query<{ import_id: string | null; used_at: Date | null }>(
    "select import_id, used_at from link_requests where code_hash = $1",
    [offer.linkCodeHash],
  );
  return row;
}

async function importsOf(shareId: string) {
  return b.query<{ import_id: string; status: string; reason: string | null; vendor_data: string | null }>(
    "select import_id, status, reason, vendor_data from imports where share_id = $1",
    [shareId],
  );
}

describe("redeeming a link code with the receipt", () => {
  it("lets one of several offers carrying one code, received at once in separate statements, redeem it", async () => {
    for (let round = 0; round < 10; round += 1) {
      const first = offerOf();
      const offers = [first, ...[1, 2, 3].map(() => offerOf({ linkCodeHash: first.linkCodeHash }))];
      const receipts: Receipt[] = await Promise.all(
        offers.map((offer, index) => separateStore().receive(offer, `job-${round}-${index}`, lease)),
      );
      expect(receipts.every((receipt) => receipt.kind === "new")).toBe(true);
      const claimed = receipts.filter((receipt) => receipt.row.status === "importing");
      expect(claimed).toHaveLength(1);
      expect(claimed[0]?.row.vendorData).toBe(userRefOf(first));
      const refused = receipts.filter((receipt) => receipt.row.status === "rejected");
      expect(
        refused.map((receipt) => [receipt.row.reason, receipt.row.vendorData, receipt.row.linkId]),
      ).toEqual([1, 2, 3].map(() => ["link_code_used", null, null]));
      expect((await linkOf(first))?.import_id).toBe(claimed[0]?.row.importId);
      // Each refusal carries its result for the sharer, written with it.
      for (const receipt of refused) {
        const outbox = await b.query<{ payload: Record<string, unknown> }>(
          "select payload from result_outbox where import_id = $1",
          [receipt.row.importId],
        );
        expect(outbox.map((row) => row.payload)).toEqual([
          expect.objectContaining({ outcome: "rejected", reason: "link_code_used" }),
        ]);
      }
    }
  });

  it("spends a code on an import that exists when two deliveries of one share race in separate statements", async () => {
    for (let round = 0; round < 10; round += 1) {
      const offer = offerOf();
      const receipts = await Promise.all(
        ["a", "b"].map((name) => separateStore().receive(offer, `job-${round}-${name}`, lease)),
      );
      expect(receipts.map((receipt) => receipt.kind).sort()).toEqual(["new", "open"]);
      const rows = await importsOf(offer.shareId);
      expect(rows).toEqual([
        expect.objectContaining({ status: "importing", reason: null, vendor_data: userRefOf(offer) }),
      ]);
      expect((await linkOf(offer))?.import_id).toBe(rows[0]?.import_id);
    }
  });

  it("answers a redelivery after the redemption as a replay of its own import, never as a reused code", async () => {
    const offer = offerOf();
    const first = await separateStore().receive(offer, "job-first", lease);
    expect(first.row.status).toBe("importing");
    // Still open: the same import again, for its holder to finish.
    const open = await separateStore().receive(offer, "job-again", lease);
    expect(open).toMatchObject({ kind: "open", row: { importId: first.row.importId } });
    await b.store.recordImported(first.row, copyOf(offer), {});
    // Finished: its result again.
    const replay = await separateStore().receive(offer, "job-replay", lease);
    expect(replay).toMatchObject({
      kind: "finished",
      row: { importId: first.row.importId, status: "imported" },
    });
    expect(await importsOf(offer.shareId)).toEqual([
      expect.objectContaining({ status: "imported", reason: null, vendor_data: userRefOf(offer) }),
    ]);
  });

  it("refuses a code it never issued, an expired one and one for another source, leaving them unspent", async () => {
    const unknown = offerOf({ linkCodeHash: "0".repeat(64) });
    const expired = offerOf();
    const restricted = offerOf();
    await b.query("update link_requests set expires_at = now() - interval '1 second' where code_hash = $1", [
      expired.linkCodeHash,
    ]);
    await b.query("update link_requests set source = 'partner-c' where code_hash = $1", [
      restricted.linkCodeHash,
    ]);
    const reasons: Record<string, string> = {};
    for (const [name, offer] of Object.entries({ unknown, expired, restricted })) {
      const receipt = await separateStore().receive(offer, `job-${name}`, lease);
      expect(receipt).toMatchObject({
        kind: "new",
        row: { status: "rejected", vendorData: null, linkId: null },
      });
      reasons[name] = receipt.row.reason as string;
    }
    expect(reasons).toEqual({
      unknown: "link_code_unknown",
      expired: "link_code_expired",
      restricted: "link_code_unknown",
    });
    expect((await linkOf(expired))?.used_at).toBeNull();
    expect((await linkOf(restricted))?.used_at).toBeNull();
    // Its events: the receipt, then the rejection, in one statement's order.
    const audit = await b.query<{ action: string; outcome: string }>(
      "select action, outcome from audit_events where share_id = $1 order by id",
      [expired.shareId],
    );
    expect(audit).toEqual([
      { action: "import.received", outcome: "received" },
      { action: "import.rejected", outcome: "link_code_expired" },
    ]);
  });
});
