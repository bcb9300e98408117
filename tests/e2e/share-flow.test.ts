import { randomUUID } from "node:crypto";
import { partnerBAuditPageSchema } from "@share-broker/contracts";
import { readJson, type ServiceProcess } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditOf,
  consentFor,
  linkCodeAt,
  shareReaches,
  unissuedLinkCode,
  verifiedUser,
} from "../support/partner-a-flow.js";
import {
  actAs,
  apps,
  createWorld,
  eventually,
  type PartnerProcess,
  queueOf,
  sandboxOf,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let partnerB: PartnerProcess;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a", { env: { REDRIVE_AFTER_SECONDS: "2" } });
  partnerB = await startWorldPartner(world, "partner-b", { env: { RESULT_POLL_MS: "100" } });
});
afterAll(async () => {
  await partnerB?.stop();
  await partnerA?.stop();
  await sandbox?.stop();
});

/**
 * A verified user of partner-a shared under a consent carrying `linkCode`: by default one partner-b
 * issues for its user `userRef` now (partner-b must be running then; issue first when it is not).
 */
async function share(
  scope: string,
  link: { userRef: string } | { linkCode: string } = { userRef: `b-${randomUUID()}` },
): Promise<{ userId: string; shareId: string }> {
  const linkCode = "linkCode" in link ? link.linkCode : await linkCodeAt(partnerB, link.userRef);
  const userId = await verifiedUser(world, partnerA);
  const consentId = await consentFor(partnerA, userId, { scope, link_code: linkCode });
  const response = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
  expect(response.status).toBe(202);
  return { userId, shareId: ((await readJson(response)) as { share_id: string }).share_id };
}

async function importAtB(shareId: string) {
  return eventually(
    async () => {
      const body = await readJson(await partnerB.call("GET", `/v1/imports?share_id=${shareId}`));
      const found = body.imports?.[0];
      return found && ["imported", "rejected", "failed"].includes(found.status) ? found : undefined;
    },
    20_000,
    `partner-b's import of ${shareId}`,
  );
}

/** Imports Didit holds in partner-b's application for a vendor_data (the one-import rule's truth). */
async function diditImportsFor(vendorData: string) {
  return (
    await sandboxOf(world).client("partner-b").listSessions({ vendor_data: vendorData })
  ).results.filter((session) => session.shared_from_session);
}

describe("a share from partner-a to partner-b, both running", () => {
  it("imports with trust_review true and partner-a shows imported with Approved", async () => {
    const { shareId } = await share("kyc", { userRef: "b-customer-1" });
    const atA = await shareReaches(partnerA, shareId, "imported", 20_000);
    expect(atA.import).toMatchObject({ status: "imported", session_status: "Approved" });
    const atB = await importAtB(shareId);
    expect(atB).toMatchObject({ status: "imported", vendor_data: "b-customer-1", source: "partner-a" });
    expect(atB.policy).toMatchObject({
      trust_review: true,
      version: "test-1",
      workflow_id: apps["partner-b"].kyc,
    });
    expect(atB.didit.status).toBe("Approved");
    expect(await diditImportsFor("b-customer-1")).toHaveLength(1);
    const events = await auditOf(partnerA, `share_id=${shareId}`);
    expect(events[0]?.action).toBe("share.result");
    // Who acted: the API caller (API_KEYS' first key is principal api-key-1) for the request,
    // nobody (null) for what the dispatcher and the result applier did on their own.
    const actors = new Map<string, string | null>(events.map((event) => [event.action, event.principal]));
    expect(actors.get("share.accepted")).toBe("api-key-1");
    for (const background of ["share.minted", "share.sent", "share.result"]) {
      expect(actors.has(background), background).toBe(true);
      expect(actors.get(background), background).toBeNull();
    }
    const atBAudit = partnerBAuditPageSchema.parse(
      await readJson(await partnerB.call("GET", `/v1/audit?share_id=${shareId}`)),
    ).events;
    expect(atBAudit.map((event) => event.action)).toEqual(
      expect.arrayContaining(["import.received", "import.imported"]),
    );
    expect(atBAudit.every((event) => event.principal === null)).toBe(true);
    // partner-b holds a pseudonym keyed for it alone, not the one partner-a audits under.
    expect(atB.user_pseudonym).toMatch(/^u_/);
    expect(events.map((event) => event.user_pseudonym)).not.toContain(atB.user_pseudonym);
  });

  it("imports with trust_review false into In Review, and a review reaches both sides", async () => {
    const { shareId } = await share("kyc+aml");
    const atA = await shareReaches(partnerA, shareId, "imported", 20_000);
    expect(atA.import?.session_status).toBe("In Review");
    const atB = await importAtB(shareId);
    expect(atB.policy.trust_review).toBe(false);
    expect(atB.didit.status).toBe("In Review");

    const review = await partnerB.call("POST", `/v1/imports/${atB.import_id}/review`, {
      decision: "Approved",
      comment: "documents checked",
    });
    expect(review.status).toBe(202);
    await eventually(
      async () => {
        const current = await readJson(await partnerB.call("GET", `/v1/imports/${atB.import_id}`));
        return current.didit?.status === "Approved" ? current : undefined;
      },
      15_000,
      "the review's webhook at partner-b",
    );
    await eventually(
      async () => {
        const current = await readJson(await partnerA.call("GET", `/v1/shares/${shareId}`));
        return current.import?.session_status === "Approved" ? current : undefined;
      },
      15_000,
      "the refreshed result at partner-a",
    );
    const again = await partnerB.call("POST", `/v1/imports/${atB.import_id}/review`, {
      decision: "Declined",
    });
    expect(again.status).toBe(409);
  });

  it("rejects a second share of the same session: one Didit import, partner-a shows rejected", async () => {
    const userId = await verifiedUser(world, partnerA);
    const first = await partnerA.call("POST", "/v1/shares", {
      consent_id: await consentFor(partnerA, userId, { link_code: await linkCodeAt(partnerB, "b-twice") }),
    });
    const firstId = (await readJson(first)).share_id as string;
    await shareReaches(partnerA, firstId, "imported", 20_000);
    const second = await partnerA.call("POST", "/v1/shares", {
      consent_id: await consentFor(partnerA, userId, {
        link_code: await linkCodeAt(partnerB, "b-twice-again"),
      }),
    });
    const secondId = (await readJson(second)).share_id as string;
    const rejected = await shareReaches(partnerA, secondId, "rejected", 20_000);
    expect(rejected.import?.reason).toBe("forbidden");
    expect(await diditImportsFor("b-twice")).toHaveLength(1);
    expect(await diditImportsFor("b-twice-again")).toHaveLength(0);
  });

  it("imports for partner-b's user only with a code partner-b issued, once: others end rejected with why", async () => {
    const unknown = await share("kyc", { linkCode: unissuedLinkCode() });
    const refused = await shareReaches(partnerA, unknown.shareId, "rejected", 20_000);
    expect(refused.import?.reason).toBe("link_code_unknown");
    expect(await importAtB(unknown.shareId)).toMatchObject({ status: "rejected", vendor_data: null });

    const linkCode = await linkCodeAt(partnerB, "b-linked-once");
    const first = await share("kyc", { linkCode });
    await shareReaches(partnerA, first.shareId, "imported", 20_000);
    // Another partner-a user presenting the same code: it must not reach b-linked-once.
    const reused = await share("kyc", { linkCode });
    const rejected = await shareReaches(partnerA, reused.shareId, "rejected", 20_000);
    expect(rejected.import?.reason).toBe("link_code_used");
    expect(await diditImportsFor("b-linked-once")).toHaveLength(1);
  });

  it("drains a backlog sent while partner-b was stopped: nothing lost, each imported once", async () => {
    const codes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => linkCodeAt(partnerB, `b-backlog-${i}`)),
    );
    await partnerB.stop();
    const shares = await Promise.all(codes.map((linkCode) => share("kyc", { linkCode })));
    for (const { shareId } of shares) await shareReaches(partnerA, shareId, "sent");
    partnerB = await startWorldPartner(world, "partner-b", {
      databaseUrl: partnerB.databaseUrl,
      env: { RESULT_POLL_MS: "100" },
    });
    for (const { shareId } of shares) await shareReaches(partnerA, shareId, "imported", 30_000);
    for (let i = 0; i < shares.length; i += 1)
      expect(await diditImportsFor(`b-backlog-${i}`)).toHaveLength(1);
  });

  it("dead-letters a tampered envelope at partner-b: no import, and partner-a is not told a lie", async () => {
    const linkCode = await linkCodeAt(partnerB, "b-tampered");
    await partnerB.stop();
    const inbox = queueOf(world, "inbox-partner-b");
    const results = queueOf(world, "results-partner-a");
    try {
      const { shareId } = await share("kyc", { linkCode });
      await shareReaches(partnerA, shareId, "sent");
      // partner-a rests while partner-b meets the tampered envelope: its reconciler would otherwise
      // redrive the genuine offer (REDRIVE_AFTER_SECONDS=2) and race the checks below.
      await partnerA.stop();
      const job = await inbox.queue.getJob(shareId);
      const envelope = job?.data.envelope as string;
      await job?.remove();
      const parts = envelope.split(".");
      parts[3] = `${(parts[3] as string).slice(0, -2)}AA`;
      await inbox.queue.add("envelope", { envelope: parts.join(".") }, { jobId: shareId });
      // Results of this share only: earlier tests' results may still be on their way out of partner-b.
      const resultsOfShare = async () =>
        (await results.jobs()).filter((job) => job?.id === shareId || job?.id?.startsWith(`${shareId}-`))
          .length;
      const resultsBefore = await resultsOfShare();
      partnerB = await startWorldPartner(world, "partner-b", {
        databaseUrl: partnerB.databaseUrl,
        env: { RESULT_POLL_MS: "100" },
      });
      const dead = queueOf(world, "inbox-partner-b-dead");
      try {
        await eventually(
          async () => ((await dead.queue.getJob(shareId)) ? true : undefined),
          15_000,
          "dead letter",
        );
      } finally {
        await dead.close();
      }
      expect(await diditImportsFor("b-tampered")).toHaveLength(0);
      expect(await resultsOfShare()).toBe(resultsBefore);
      partnerA = await startWorldPartner(world, "partner-a", {
        databaseUrl: partnerA.databaseUrl,
        env: { REDRIVE_AFTER_SECONDS: "2" },
      });
      // The genuine offer is sealed again by partner-a's reconciler once it sees no result came back.
      await shareReaches(partnerA, shareId, "imported", 30_000);
      expect(await diditImportsFor("b-tampered")).toHaveLength(1);
      const events = await auditOf(partnerA, `share_id=${shareId}`);
      expect(events.map((event) => event.action)).toContain("share.redrive_scheduled");
      expect(events.filter((event) => event.action === "share.result").map((event) => event.outcome)).toEqual(
        ["imported"],
      );
    } finally {
      await results.close();
      await inbox.close();
    }
  });

  it("rejects an offer from another registry partner whose token is not a share token, without a Didit import", async () => {
    const created = await partnerB.call("POST", "/v1/link-requests", {
      user_ref: "b-of-c",
      source: "partner-c",
    });
    expect(created.status).toBe(201);
    const { code } = (await readJson(created)) as { code: string };
    const asC = await actAs(world, "partner-c");
    const forged = await asC.sealer.seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "f0f0f0f0-0000-4000-8000-000000000001",
      expiresAt: new Date(Date.now() + 60_000),
      payload: {
        share_token: "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        session_kind: "user",
        purpose: "onboarding",
        scope: "kyc",
        consent_id: "c",
        link_code: code,
        user_pseudonym: "u_x",
        token_expires_at: new Date(Date.now() + 60_000).toISOString(),
      },
    });
    const inbox = queueOf(world, "inbox-partner-b");
    try {
      await inbox.queue.add("envelope", { envelope: forged }, { jobId: "forged-by-c" });
      const record = await eventually(
        async () => {
          const body = await readJson(
            await partnerB.call("GET", "/v1/imports?share_id=f0f0f0f0-0000-4000-8000-000000000001"),
          );
          return body.imports[0]?.status === "rejected" ? body.imports[0] : undefined;
        },
        15_000,
        "partner-b's record of C's offer",
      );
      expect(record).toMatchObject({ source: "partner-c", reason: "token_expired_or_invalid" });
    } finally {
      await inbox.close();
    }
  });
  // Last: it moves the sandbox clock forward, which makes later webhooks look stale.
  it("rejects a token that expired in transit (sandbox clock) and partner-a shows rejected", async () => {
    const linkCode = await linkCodeAt(partnerB, "b-late");
    await partnerB.stop();
    try {
      const { shareId } = await share("kyc", { linkCode });
      await shareReaches(partnerA, shareId, "sent");
      const { control } = sandboxOf(world);
      expect((await control("POST", "/sandbox/clock", { advance_seconds: 1000 })).status).toBe(200);
      partnerB = await startWorldPartner(world, "partner-b", {
        databaseUrl: partnerB.databaseUrl,
        env: { RESULT_POLL_MS: "100" },
      });
      const rejected = await shareReaches(partnerA, shareId, "rejected", 20_000);
      expect(rejected.import?.reason).toBe("token_expired_or_invalid");
      expect(await diditImportsFor("b-late")).toHaveLength(0);
    } finally {
      if (partnerB.child.exitCode !== null) {
        partnerB = await startWorldPartner(world, "partner-b", { databaseUrl: partnerB.databaseUrl });
      }
    }
  });
});
