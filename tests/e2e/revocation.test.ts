import { importListSchema } from "@share-broker/contracts";
import type { ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditOf,
  consentFor,
  linkCodeAt,
  shareOf,
  shareReaches,
  verifiedUser,
} from "../support/partner-a-flow.js";
import {
  createWorld,
  eventually,
  type PartnerProcess,
  sandboxOf,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

// Consent is law after the token has left partner-a too: a withdrawal revokes the share at
// partner-b, which then never imports it, whichever of offer and revocation it reads first.

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let partnerB: PartnerProcess;

const REDRIVE_AFTER_SECONDS = 2;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a", {
    env: { REDRIVE_AFTER_SECONDS: String(REDRIVE_AFTER_SECONDS) },
  });
  partnerB = await startWorldPartner(world, "partner-b", { env: { RESULT_POLL_MS: "100" } });
});
afterAll(async () => {
  await partnerB?.stop();
  await partnerA?.stop();
  await sandbox?.stop();
});

async function restartPartnerB(): Promise<void> {
  partnerB = await startWorldPartner(world, "partner-b", {
    databaseUrl: partnerB.databaseUrl,
    env: { RESULT_POLL_MS: "100" },
  });
}

/** A share of a new user, consented with a link code partner-b issued for `userRef`; not waited on. */
async function shareFor(linkCode: string): Promise<{ consentId: string; shareId: string }> {
  const userId = await verifiedUser(world, partnerA);
  const consentId = await consentFor(partnerA, userId, { link_code: linkCode });
  const response = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
  expect(response.status).toBe(202);
  const { share_id: shareId } = (await response.json()) as { share_id: string };
  return { consentId, shareId };
}

/** partner-b issues the code, then stops; the share is sent while it is down. */
async function sentWhilePartnerBIsDown(userRef: string) {
  const linkCode = await linkCodeAt(partnerB, userRef);
  await partnerB.stop();
  const share = await shareFor(linkCode);
  await shareReaches(partnerA, share.shareId, "sent");
  return share;
}

async function withdraw(consentId: string) {
  const response = await partnerA.call("DELETE", `/v1/consents/${consentId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { cancelled_share_ids: string[]; revoked_share_ids: string[] };
}

async function importAtB(shareId: string) {
  const response = await partnerB.call("GET", `/v1/imports?share_id=${shareId}`);
  expect(response.status).toBe(200);
  return importListSchema.parse(await response.json()).imports;
}

function revokedAtB(shareId: string) {
  return eventually(
    async () => {
      const found = await importAtB(shareId);
      return found[0]?.status === "revoked" ? found[0] : undefined;
    },
    20_000,
    "partner-b's import revoked",
  );
}

/** Sessions Didit holds in partner-b's application that were imported for `vendorData`. */
async function diditCopiesFor(vendorData: string) {
  const listed = await sandboxOf(world).client("partner-b").listSessions({ vendor_data: vendorData });
  return listed.results.filter((session) => session.shared_from_session);
}

const actionsOf = async (shareId: string) =>
  (await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action);

describe("revoking a share whose token has left partner-a", () => {
  it("never imports a share withdrawn while partner-b was down, even past the redrive delay", async () => {
    const { consentId, shareId } = await sentWhilePartnerBIsDown("b-revoked-in-transit");
    const withdrawn = await withdraw(consentId);
    expect(withdrawn).toMatchObject({ cancelled_share_ids: [], revoked_share_ids: [shareId] });
    expect(await shareOf(partnerA, shareId)).toMatchObject({
      status: "revoked",
      reason: "consent_withdrawn",
    });

    // Past the redrive delay, with partner-b still down: nothing is minted or sent again.
    await new Promise((resolve) => setTimeout(resolve, (REDRIVE_AFTER_SECONDS + 1) * 1000));
    const before = await actionsOf(shareId);
    expect(before.filter((action) => action === "share.minted")).toHaveLength(1);
    expect(before).not.toContain("share.redrive_scheduled");
    // Unacknowledged while partner-b is down, the revocation is re-sent after each redrive delay
    // (the inbox holds one job for it), at most 3 more times.
    const revocationsSent = before.filter((action) => action === "share.revoke_sent").length;
    expect(revocationsSent).toBeGreaterThanOrEqual(1);
    expect(revocationsSent).toBeLessThanOrEqual(4);

    await restartPartnerB();
    const atB = await revokedAtB(shareId);
    expect(atB).toMatchObject({ status: "revoked", reason: "consent_withdrawn", didit: null });
    expect(atB.consent_withdrawn_at).not.toBeNull();
    // partner-a hears it back and stops re-sending the revocation.
    const atA = await eventually(
      async () => {
        const share = await shareOf(partnerA, shareId);
        return share.import?.status === "revoked" ? share : undefined;
      },
      20_000,
      "partner-a hearing the revocation taken",
    );
    expect(atA).toMatchObject({ status: "revoked", import: { status: "revoked" } });
    expect(await diditCopiesFor("b-revoked-in-transit")).toEqual([]);
    expect((await actionsOf(shareId)).filter((action) => action === "share.minted")).toHaveLength(1);
  });

  it("marks an import partner-b already made with the consent's withdrawal, and keeps it imported", async () => {
    const { consentId, shareId } = await shareFor(await linkCodeAt(partnerB, "b-imported-then-withdrawn"));
    await shareReaches(partnerA, shareId, "imported", 20_000);

    expect(await withdraw(consentId)).toMatchObject({ revoked_share_ids: [shareId] });
    const [atB] = await eventually(
      async () => {
        const found = await importAtB(shareId);
        return found[0]?.consent_withdrawn_at ? found : undefined;
      },
      20_000,
      "partner-b's notice of the withdrawal",
    );
    expect(atB).toMatchObject({ status: "imported" });
    const atA = await eventually(
      async () => {
        const share = await shareOf(partnerA, shareId);
        return share.revoked_at ? share : undefined;
      },
      5_000,
      "partner-a's revoked_at",
    );
    expect(atA.status).toBe("imported");
    // Acknowledged: no second revocation goes out after the redrive delay.
    await new Promise((resolve) => setTimeout(resolve, (REDRIVE_AFTER_SECONDS + 1) * 1000));
    expect((await actionsOf(shareId)).filter((action) => action === "share.revoke_sent")).toHaveLength(1);
    expect(await diditCopiesFor("b-imported-then-withdrawn")).toHaveLength(1);
  });

  it("revokes a sent share whose consent expires before partner-b reads it", async () => {
    const { consentId, shareId } = await sentWhilePartnerBIsDown("b-consent-expired");
    // The consent runs out (its clock is partner-a's database's): the reconciler finds it.
    const db = new pg.Client({ connectionString: partnerA.databaseUrl });
    await db.connect();
    try {
      await db.query("update consents set expires_at = now() - interval '1 second' where consent_id = $1", [
        consentId,
      ]);
    } finally {
      await db.end();
    }
    const revoked = await eventually(
      async () => {
        const share = await shareOf(partnerA, shareId);
        return share.status === "revoked" ? share : undefined;
      },
      10_000,
      "the share revoked for its expired consent",
    );
    expect(revoked.reason).toBe("consent_expired");

    await restartPartnerB();
    expect((await revokedAtB(shareId)).reason).toBe("consent_expired");
    expect(await diditCopiesFor("b-consent-expired")).toEqual([]);
  });
});
