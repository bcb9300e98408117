import { randomUUID } from "node:crypto";
import { metricValue, type ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditOf, consentFor, shareOf, shareReaches, verifiedUser } from "../support/partner-a-flow.js";
import {
  ALL_SECRETS,
  actAs,
  createWorld,
  eventually,
  flushChannel,
  type PartnerProcess,
  queueOf,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

let world: World;
let sandbox: ServiceProcess;
let inbox: ReturnType<typeof queueOf>;
let results: ReturnType<typeof queueOf>;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  inbox = queueOf(world, "inbox-partner-b");
  results = queueOf(world, "results-partner-a");
});
afterAll(async () => {
  await inbox?.close();
  await results?.close();
  await sandbox?.stop();
});

async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function acceptShare(partnerA: PartnerProcess): Promise<string> {
  const userId = await verifiedUser(world, partnerA);
  return acceptShareOf(partnerA, await consentFor(partnerA, userId));
}

async function acceptShareOf(partnerA: PartnerProcess, consentId: string): Promise<string> {
  const response = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
  expect(response.status).toBe(202);
  return ((await response.json()) as { share_id: string }).share_id;
}

async function inboxJobsFor(shareId: string) {
  return (await inbox.jobs()).filter((job) => job.id === shareId);
}

describe("partner-a survives crashes and Redis loss", () => {
  it("re-drives a share whose dispatcher was killed between mint and enqueue: exactly one job", async () => {
    const crashing = await startWorldPartner(world, "partner-a", {
      env: { FAILPOINTS: "after-mint", DISPATCH_LEASE_SECONDS: "1" },
    });
    const shareId = await acceptShare(crashing);
    const { signal } = await crashing.exited;
    expect(signal).toBe("SIGKILL");
    expect(crashing.stderr.join("\n")).toContain("failpoint after-mint reached");
    const [stored] = await sql<{ status: string }>(
      crashing.databaseUrl,
      "select status from shares where share_id = $1",
      [shareId],
    );
    expect(stored?.status).toBe("minted");
    expect(await inboxJobsFor(shareId)).toHaveLength(0);

    const restarted = await startWorldPartner(world, "partner-a", {
      databaseUrl: crashing.databaseUrl,
      env: { DISPATCH_LEASE_SECONDS: "1" },
    });
    try {
      await shareReaches(restarted, shareId, "sent");
      expect(await inboxJobsFor(shareId)).toHaveLength(1);
      const actions = (await auditOf(restarted, `share_id=${shareId}`)).map((event) => event.action);
      expect(actions.filter((action) => action === "share.minted")).toHaveLength(2);
      expect(actions.filter((action) => action === "share.sent")).toHaveLength(1);
    } finally {
      await restarted.stop();
    }
  });

  it("re-sends a sent share whose offer Redis lost, once, and expires it if nobody answers", async () => {
    const partnerA = await startWorldPartner(world, "partner-a", {
      env: { REDRIVE_AFTER_SECONDS: "1", RESULT_GRACE_SECONDS: "1" },
    });
    try {
      const shareId = await acceptShare(partnerA);
      await shareReaches(partnerA, shareId, "sent");
      expect(await flushChannel(world)).toBeGreaterThan(0);
      expect(await inboxJobsFor(shareId)).toHaveLength(0);
      await eventually(
        async () => ((await inboxJobsFor(shareId)).length === 1 ? true : undefined),
        15_000,
        "redrive",
      );
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(await inboxJobsFor(shareId)).toHaveLength(1);
      const actions = (await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action);
      expect(actions).toContain("share.redrive_scheduled");
      expect(actions).toContain("share.redriven");

      // Nobody ever answers: once the token has expired (moved into the past here) plus the grace, it expires.
      await sql(
        partnerA.databaseUrl,
        "update shares set token_expires_at = now() - interval '2 seconds' where share_id = $1",
        [shareId],
      );
      const expired = await shareReaches(partnerA, shareId, "expired");
      expect(expired.reason).toBe("no_result_before_token_expiry");
    } finally {
      await partnerA.stop();
    }
  });

  it("audits every step under one pseudonym, also for a consent and a share stored before pseudonyms were kept", async () => {
    const partnerA = await startWorldPartner(world, "partner-a");
    try {
      const userId = await verifiedUser(world, partnerA);
      const consentId = await consentFor(partnerA, userId);
      const asB = await actAs(world, "partner-b");
      const importedBy = async (shareId: string) => {
        const envelope = await asB.sealer.seal({
          to: "partner-a",
          typ: "import-result",
          jti: shareId,
          expiresAt: new Date(Date.now() + 60_000),
          payload: {
            share_id: shareId,
            outcome: "imported",
            sequence: 1,
            import_id: randomUUID(),
            session_status: "Approved",
            at: new Date().toISOString(),
          },
        });
        await results.queue.add("envelope", { envelope }, { jobId: `${shareId}-result` });
        return shareReaches(partnerA, shareId, "imported");
      };

      // The common path: each step is one statement that copies the stored pseudonym.
      const current = await acceptShareOf(partnerA, consentId);
      await shareReaches(partnerA, current, "sent");
      await importedBy(current);

      // Rows from before migration 0002 have no pseudonym: the transactional paths compute it.
      await sql(partnerA.databaseUrl, "update consents set user_pseudonym = null where consent_id = $1", [
        consentId,
      ]);
      const legacy = await acceptShareOf(partnerA, consentId);
      await shareReaches(partnerA, legacy, "sent");
      await sql(partnerA.databaseUrl, "update shares set user_pseudonym = null where share_id = $1", [
        legacy,
      ]);
      await importedBy(legacy);

      for (const shareId of [current, legacy]) {
        const events = await auditOf(partnerA, `share_id=${shareId}`);
        expect(events.map((event) => event.action).sort()).toEqual(
          ["share.accepted", "share.minted", "share.result", "share.sent"].sort(),
        );
        const pseudonyms = new Set(events.map((event) => event.user_pseudonym));
        expect(pseudonyms.size).toBe(1);
        expect([...pseudonyms][0]).toMatch(/^u_[A-Za-z0-9_-]{22}$/);
      }
      const [first] = await auditOf(partnerA, `share_id=${current}`);
      const [again] = await auditOf(partnerA, `share_id=${legacy}`);
      expect(again?.user_pseudonym).toBe(first?.user_pseudonym);
    } finally {
      await partnerA.stop();
    }
  });

  it("applies partner-b's signed result once, and dead-letters forged or misaddressed ones", async () => {
    const partnerA = await startWorldPartner(world, "partner-a");
    try {
      const shareId = await acceptShare(partnerA);
      await shareReaches(partnerA, shareId, "sent");
      const asB = await actAs(world, "partner-b");
      const asC = await actAs(world, "partner-c");
      const result = {
        share_id: shareId,
        outcome: "imported" as const,
        sequence: 1,
        import_id: randomUUID(),
        session_status: "Approved",
        at: new Date().toISOString(),
      };
      const expiresAt = new Date(Date.now() + 60_000);
      const fromB = await asB.sealer.seal({
        to: "partner-a",
        typ: "import-result",
        jti: shareId,
        expiresAt,
        payload: result,
      });
      // C is a configured partner but not this share's audience; it may not report on it.
      const fromC = await asC.sealer.seal({
        to: "partner-a",
        typ: "import-result",
        jti: shareId,
        expiresAt,
        payload: { ...result, outcome: "rejected", reason: "forbidden" },
      });
      const tampered = `${fromB.slice(0, -4)}AAAA`;
      await results.queue.add("envelope", { envelope: tampered }, { jobId: `${shareId}-tampered` });
      await results.queue.add("envelope", { envelope: fromC }, { jobId: `${shareId}-c` });
      await results.queue.add("envelope", { envelope: fromB }, { jobId: `${shareId}-1` });
      await results.queue.add("envelope", { envelope: fromB }, { jobId: `${shareId}-2` });

      const imported = await shareReaches(partnerA, shareId, "imported");
      expect(imported.import).toMatchObject({ status: "imported", session_status: "Approved" });
      await eventually(async () => {
        const actions = (await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action);
        return actions.includes("share.result_rejected") ? actions : undefined;
      });
      const actions = (await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action);
      expect(actions.filter((action) => action === "share.result")).toHaveLength(1);
      // The second delivery of B's result is a replay (same sequence), C's a result from the wrong
      // partner: each refused, and counted on /metrics by reason.
      await eventually(async () => {
        const metrics = await (await fetch(`${partnerA.opsUrl}/metrics`)).text();
        const refused = (reason: string) =>
          metricValue(metrics, "share_broker_results_refused_total", { reason, service: "partner-a" });
        return refused("replayed") === 1 && refused("wrong_source") === 1 ? true : undefined;
      });
      expect((await auditOf(partnerA, `share_id=${shareId}`)).map((event) => event.action)).toContain(
        "share.result_replayed",
      );
      const dead = queueOf(world, "results-partner-a-dead");
      try {
        await eventually(
          async () => ((await dead.jobs()).length >= 1 ? true : undefined),
          10_000,
          "dead letter",
        );
        expect((await dead.jobs()).map((job) => job.id)).toContain(`${shareId}-tampered`);
      } finally {
        await dead.close();
      }
      expect((await shareOf(partnerA, shareId)).status).toBe("imported");
    } finally {
      await partnerA.stop();
    }
  });

  it("keeps the audit trail append-only and purges only events past retention", async () => {
    const partnerA = await startWorldPartner(world, "partner-a");
    await partnerA.stop();
    await sql(partnerA.databaseUrl, "insert into audit_events (action, outcome) values ('probe', 'x')");
    await expect(sql(partnerA.databaseUrl, "update audit_events set outcome = 'x'")).rejects.toThrow(
      /append-only/,
    );
    await expect(sql(partnerA.databaseUrl, "delete from audit_events")).rejects.toThrow(/append-only/);
    await sql(
      partnerA.databaseUrl,
      "insert into audit_events (occurred_at, action, outcome) values (now() - interval '6 years', 'ancient', 'x'), (now() - interval '4 years', 'old', 'x')",
    );
    const restarted = await startWorldPartner(world, "partner-a", { databaseUrl: partnerA.databaseUrl });
    try {
      await eventually(async () => {
        const rows = await sql<{ action: string }>(
          restarted.databaseUrl,
          "select action from audit_events where action in ('ancient', 'old')",
        );
        return rows.length === 1 ? rows : undefined;
      });
      const rows = await sql<{ action: string }>(
        restarted.databaseUrl,
        "select action from audit_events where action in ('ancient', 'old')",
      );
      expect(rows.map((row) => row.action)).toEqual(["old"]);
    } finally {
      await restarted.stop();
    }
  });

  it("stores no share token, API key or secret in any table, and logs none", async () => {
    const partnerA = await startWorldPartner(world, "partner-a");
    let token = "";
    try {
      const shareId = await acceptShare(partnerA);
      await shareReaches(partnerA, shareId, "sent");
      const job = (await inboxJobsFor(shareId))[0];
      const opened = await (await actAs(world, "partner-b")).opener.open(job?.data.envelope, "share-offer");
      if (!opened.ok) throw new Error(`envelope did not open: ${opened.reason}`);
      token = opened.claims.payload.share_token;
      expect(token.length).toBeGreaterThan(40);
    } finally {
      await partnerA.stop();
    }
    const tables = await sql<{ table_name: string }>(
      partnerA.databaseUrl,
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    expect(tables.length).toBeGreaterThanOrEqual(6);
    let dump = "";
    for (const { table_name } of tables) {
      const rows = await sql(
        partnerA.databaseUrl,
        `select row_to_json(t)::text as row from "${table_name}" t`,
      );
      dump += rows.map((row) => String(row.row)).join("\n");
    }
    expect(dump).toContain("share.sent");
    const output = partnerA.output();
    for (const secret of [token, ...ALL_SECRETS]) {
      expect(dump).not.toContain(secret);
      expect(output).not.toContain(secret);
    }
  });
});
