import { DiditClient } from "@share-broker/didit";
import type { ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditOf,
  consentFor,
  requestShare,
  shareOf,
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
let inbox: ReturnType<typeof queueOf>;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a");
  inbox = queueOf(world, "inbox-partner-b");
});
afterAll(async () => {
  await inbox?.close();
  await partnerA?.stop();
  await sandbox?.stop();
});

async function tableCounts() {
  const client = new pg.Client({ connectionString: partnerA.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      "select (select count(*) from shares)::int as shares, (select count(*) from share_dispatches)::int as dispatches",
    );
    return rows[0] as { shares: number; dispatches: number };
  } finally {
    await client.end();
  }
}

describe("partner-a shares, end to end to partner-b's inbox", () => {
  it("sends an accepted share as one sealed job whose token partner-b can import", async () => {
    const userId = await verifiedUser(world, partnerA);
    const linkCode = unissuedLinkCode();
    const consentId = await consentFor(partnerA, userId, { link_code: linkCode });
    const accepted = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
    expect(accepted.status).toBe(202);
    const { share_id, status, audience } = (await accepted.json()) as Record<string, string>;
    expect(status).toBe("accepted");
    expect(audience).toBe("partner-b");

    const sent = await shareReaches(partnerA, share_id as string, "sent");
    expect(sent.expires_at).not.toBeNull();
    const job = await eventually(async () => (await inbox.queue.getJob(share_id as string)) ?? undefined);
    const asB = await actAs(world, "partner-b");
    const opened = await asB.opener.open(job.data.envelope, "share-offer");
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.claims).toMatchObject({ iss: "partner-a", aud: "partner-b", jti: share_id });
    expect(opened.claims.payload).toMatchObject({
      purpose: "onboarding",
      scope: "kyc",
      consent_id: consentId,
      link_code: linkCode,
    });
    expect(opened.claims.payload.user_pseudonym).not.toContain(userId);
    // The code is carried, never shown: not in the consent's view, the audit, or a log line.
    const consent = await (await partnerA.call("GET", `/v1/consents/${consentId}`)).text();
    expect(consent).not.toContain(linkCode);
    expect(JSON.stringify(await auditOf(partnerA, `user_id=${userId}`))).not.toContain(linkCode);
    expect(partnerA.output()).not.toContain(linkCode);
    // Envelope expiry never outlives the token's, which defaults to 900 s.
    const ttl = opened.claims.exp - opened.claims.iat;
    expect(ttl).toBeGreaterThan(890);
    expect(ttl).toBeLessThanOrEqual(901);

    const imported = await sandboxOf(world).client("partner-b").importSharedSession({
      share_token: opened.claims.payload.share_token,
      workflow_id: apps["partner-b"].kyc,
      trust_review: true,
      vendor_data: "b-42",
    });
    expect(imported.status).toBe("Approved");

    const actions = (await auditOf(partnerA, `share_id=${share_id}`)).map((event) => event.action);
    expect(actions).toEqual(["share.sent", "share.minted", "share.accepted"]);
    const events = await auditOf(partnerA, `user_id=${userId}`);
    expect(events.map((event) => event.action)).toContain("consent.granted");
    expect(events.find((event) => event.action === "share.minted")?.token_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("returns the same share for a repeated Idempotency-Key and 422 when the body differs", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const key = { "idempotency-key": `idem-${userId}` };
    const first = await partnerA.call("POST", "/v1/shares", { consent_id: consentId }, key);
    const again = await partnerA.call("POST", "/v1/shares", { consent_id: consentId }, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    const firstId = ((await first.json()) as { share_id: string }).share_id;
    expect(((await again.json()) as { share_id: string }).share_id).toBe(firstId);
    const changed = await partnerA.call(
      "POST",
      "/v1/shares",
      { consent_id: consentId, ttl_seconds: 120 },
      key,
    );
    expect(changed.status).toBe(422);
    expect(((await changed.json()) as { error: { code: string } }).error.code).toBe("idempotency_key_reused");
    await shareReaches(partnerA, firstId, "sent");
    const jobs = (await inbox.jobs()).filter((job) => job.id === firstId);
    expect(jobs).toHaveLength(1);
  });

  it("accepts a burst of requests together: each share once, refusals and Idempotency-Key races answered per request", async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => verifiedUser(world, partnerA)));
    const consents = await Promise.all(users.map((userId) => consentFor(partnerA, userId)));
    const withdrawn = consents[9] as string;
    expect((await partnerA.call("DELETE", `/v1/consents/${withdrawn}`)).status).toBe(200);
    const raced = { "idempotency-key": `burst-${users[0]}` };
    // Fired at once, so requests share group statements; the race inside a batch is on purpose.
    const responses = await Promise.all([
      ...consents
        .slice(0, 9)
        .map((consentId) => partnerA.call("POST", "/v1/shares", { consent_id: consentId })),
      partnerA.call("POST", "/v1/shares", { consent_id: withdrawn }),
      partnerA.call("POST", "/v1/shares", { consent_id: consents[0] }, raced),
      partnerA.call("POST", "/v1/shares", { consent_id: consents[0] }, raced),
    ]);
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as Array<{
      share_id?: string;
      error?: { code: string };
    }>;
    expect(
      responses.map((response) => response.status),
      JSON.stringify(bodies),
    ).toEqual([...Array(9).fill(202), 409, 202, 202]);
    expect(bodies[9]?.error?.code).toBe("consent_withdrawn");
    expect(bodies[10]?.share_id).toBe(bodies[11]?.share_id);
    const shareIds = [...bodies.slice(0, 9), bodies[10]].map((body) => body?.share_id as string);
    expect(new Set(shareIds).size).toBe(10);
    for (const shareId of shareIds) {
      await shareReaches(partnerA, shareId, "sent");
      const actions = (await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action).sort();
      expect(actions).toEqual(["share.accepted", "share.minted", "share.sent"]);
    }
    const inboxIds = new Set((await inbox.jobs()).map((job) => job.id));
    for (const shareId of shareIds) expect(inboxIds.has(shareId)).toBe(true);
    const trail = await auditOf(partnerA, `user_id=${encodeURIComponent(users[9] as string)}`);
    expect(trail.filter((event) => event.action === "share.refused").map((event) => event.outcome)).toEqual([
      "consent_withdrawn",
    ]);
  });

  it("honours ttl_seconds and refuses one outside 60..86400 with 400", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    for (const ttl of [59, 86_401, 1.5]) {
      const refused = await partnerA.call("POST", "/v1/shares", { consent_id: consentId, ttl_seconds: ttl });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
    const accepted = await partnerA.call("POST", "/v1/shares", { consent_id: consentId, ttl_seconds: 120 });
    const { share_id } = (await accepted.json()) as { share_id: string };
    const sent = await shareReaches(partnerA, share_id, "sent");
    const lifetime = Date.parse(sent.expires_at as string) - Date.now();
    expect(lifetime).toBeGreaterThan(100_000);
    expect(lifetime).toBeLessThanOrEqual(121_000);
  });

  describe("refusals change nothing but leave one refusal audit event", () => {
    async function expectRefusal(
      body: Record<string, unknown>,
      status: number,
      code: string,
      auditQuery?: string,
    ) {
      const before = await tableCounts();
      const jobsBefore = (await inbox.jobs()).length;
      const response = await partnerA.call("POST", "/v1/shares", body);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await tableCounts()).toEqual(before);
      expect((await inbox.jobs()).length).toBe(jobsBefore);
      if (auditQuery) {
        const events = await auditOf(partnerA, auditQuery);
        expect(events[0]).toMatchObject({ action: "share.refused", outcome: code });
      }
    }

    it("404 consent_not_found for an unknown consent", async () => {
      await expectRefusal({ consent_id: "00000000-0000-4000-8000-000000000000" }, 404, "consent_not_found");
    });

    it("409 consent_withdrawn after DELETE /v1/consents/{id}", async () => {
      const userId = await verifiedUser(world, partnerA);
      const consentId = await consentFor(partnerA, userId);
      const withdrawn = await partnerA.call("DELETE", `/v1/consents/${consentId}`);
      expect(withdrawn.status).toBe(200);
      expect(((await withdrawn.json()) as { withdrawn_at: string | null }).withdrawn_at).not.toBeNull();
      await expectRefusal({ consent_id: consentId }, 409, "consent_withdrawn", `user_id=${userId}`);
    });

    it("409 consent_expired once the consent's time is up", async () => {
      const userId = await verifiedUser(world, partnerA);
      const consentId = await consentFor(partnerA, userId, { expires_in: 60 });
      const client = new pg.Client({ connectionString: partnerA.databaseUrl });
      await client.connect();
      await client.query(
        "update consents set expires_at = now() - interval '1 second' where consent_id = $1",
        [consentId],
      );
      await client.end();
      await expectRefusal({ consent_id: consentId }, 409, "consent_expired", `user_id=${userId}`);
    });

    it("409 not_shareable while the user's latest session is unfinished", async () => {
      const userId = await verifiedUser(world, partnerA, "Not Started");
      const consentId = await consentFor(partnerA, userId);
      await expectRefusal({ consent_id: consentId }, 409, "not_shareable", `user_id=${userId}`);
    });

    it("400 unknown_audience for a consent to a partner that is not configured", async () => {
      const response = await partnerA.call("POST", "/v1/consents", {
        user_id: "u",
        audience: "partner-z",
        purpose: "onboarding",
        scope: "kyc",
        link_code: unissuedLinkCode(),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unknown_audience");
    });

    it("400 validation_failed for a consent without a well-formed link code, recording nothing", async () => {
      const consentsOfU = async () => {
        const client = new pg.Client({ connectionString: partnerA.databaseUrl });
        await client.connect();
        try {
          return (await client.query("select count(*)::int as n from consents where user_id = 'u-nolink'"))
            .rows[0].n;
        } finally {
          await client.end();
        }
      };
      const base = { user_id: "u-nolink", audience: "partner-b", purpose: "onboarding", scope: "kyc" };
      for (const linkCode of [
        undefined,
        "",
        "short",
        "has spaces in it, not url-safe",
        "x".repeat(257),
        42,
      ]) {
        const response = await partnerA.call("POST", "/v1/consents", { ...base, link_code: linkCode });
        expect(response.status, String(linkCode)).toBe(400);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("validation_failed");
        if (typeof linkCode === "string" && linkCode.length > 8)
          expect(body.error.message).not.toContain(linkCode);
      }
      const recipientRef = await partnerA.call("POST", "/v1/shares", {
        consent_id: await consentFor(partnerA, "u-nolink"),
        recipient_ref: "b-42",
      });
      expect(recipientRef.status).toBe(400);
      expect(await consentsOfU()).toBe(1);
    });
  });

  it("shares a Declined session too: Declined is finished", async () => {
    const userId = await verifiedUser(world, partnerA, "Declined");
    const consentId = await consentFor(partnerA, userId);
    const share_id = await requestShare(partnerA, consentId);
    await shareReaches(partnerA, share_id, "sent");
  });

  it("cancels a share whose consent is withdrawn while its token is being minted", async () => {
    const { control } = sandboxOf(world);
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    await control("POST", "/sandbox/faults", {
      method: "POST",
      path: "/v3/session/*/share/",
      latency_ms: 1500,
      times: 1,
    });
    const share_id = await requestShare(partnerA, consentId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const withdrawn = await partnerA.call("DELETE", `/v1/consents/${consentId}`);
    expect(((await withdrawn.json()) as { cancelled_share_ids: string[] }).cancelled_share_ids).toEqual([
      share_id,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const share = await shareOf(partnerA, share_id);
    expect(share.status).toBe("cancelled");
    expect(share.reason).toBe("consent_withdrawn");
    expect(await inbox.queue.getJob(share_id)).toBeUndefined();
  });

  it("retries minting through Didit 503s and 429s, then sends once", async () => {
    const { control } = sandboxOf(world);
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    await control("POST", "/sandbox/faults", {
      method: "POST",
      path: "/v3/session/*/share/",
      status: 503,
      times: 1,
    });
    await control("POST", "/sandbox/faults", {
      method: "POST",
      path: "/v3/session/*/share/",
      status: 429,
      retry_after_seconds: 1,
      times: 1,
    });
    const share_id = await requestShare(partnerA, consentId);
    await shareReaches(partnerA, share_id, "sent", 20_000);
    expect((await inbox.jobs()).filter((job) => job.id === share_id)).toHaveLength(1);
  });

  it("fails a share for good when Didit refuses the mint permanently", async () => {
    const { control } = sandboxOf(world);
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    await control("POST", "/sandbox/faults", {
      method: "POST",
      path: "/v3/session/*/share/",
      status: 404,
      times: 1,
    });
    const share_id = await requestShare(partnerA, consentId);
    const failed = await shareReaches(partnerA, share_id, "failed");
    expect(failed.reason).toBe("didit_share_failed_404");
    expect(await inbox.queue.getJob(share_id)).toBeUndefined();
    expect((await auditOf(partnerA, `share_id=${share_id}`))[0]).toMatchObject({ action: "share.failed" });
  });

  it("fails, unsent, a share of a consent granted before link codes were required", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const client = new pg.Client({ connectionString: partnerA.databaseUrl });
    await client.connect();
    try {
      await client.query("update consents set link_code = null where consent_id = $1", [consentId]);
    } finally {
      await client.end();
    }
    const share_id = await requestShare(partnerA, consentId);
    const failed = await shareReaches(partnerA, share_id, "failed");
    expect(failed.reason).toBe("consent_without_link_code");
    expect(await inbox.queue.getJob(share_id)).toBeUndefined();
  });

  it("a client without its trailing slash would fail: the real client always sends it", () => {
    // Guard for docs/DIDIT.md#base-facts (a base URL without /v3): the partner's client is the one under test
    // above; this pins its base URL form.
    expect(() => new DiditClient({ baseUrl: `${sandboxOf(world).base}/v3`, apiKey: "k" })).toThrow();
  });
});
