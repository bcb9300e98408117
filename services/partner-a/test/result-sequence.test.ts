import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ImportResultPayload } from "@share-broker/channel";
import { createDrizzle, createPgPool } from "@share-broker/service-kit";
import { recordedFallbacks } from "@share-broker/service-kit/testing";
import { createTestDatabase, preparedStatementsOf, type TestDatabase } from "@share-broker/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { Pseudonymizer } from "../src/audit/pseudonym.js";
import { PARTNER_A_BATCHES } from "../src/batches.js";
import type { Database } from "../src/db/database.js";
import * as schema from "../src/db/schema/index.js";
import { ImportResultApplier } from "../src/shares/apply-import-result.js";

// Each import result carries its per-import sequence; partner-a applies a result only if its
// sequence is above the last one applied to the share. Here against a real Postgres, through both
// of the applier's paths: the batch statement results that arrive together share, and the
// read-then-apply path a refresh or a refused result takes.

let database: TestDatabase;
let pool: pg.Pool;
let db: Database;
const audit = new AuditLog(new Pseudonymizer("result-sequence-test-secret"));

beforeAll(async () => {
  database = await createTestDatabase(fileURLToPath(new URL("../drizzle", import.meta.url)));
  pool = createPgPool(database.url, { max: 4 });
  db = createDrizzle(pool, schema) as Database;
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

function newApplier() {
  const recorded = recordedFallbacks("partner-a", PARTNER_A_BATCHES);
  return { applier: new ImportResultApplier(db, audit, recorded.fallbacks), recorded };
}

/** A share sent to partner-b, waiting for its import result. */
async function sentShare(): Promise<string> {
  const shareId = randomUUID();
  await pool.query(
    `insert into shares (share_id, consent_id, user_id, user_pseudonym, session_id, audience, purpose,
                         scope, ttl_seconds, status, sent_at)
     values ($1, gen_random_uuid(), $2, $3, gen_random_uuid(), 'partner-b', 'onboarding', 'kyc', 900, 'sent', now())`,
    [shareId, `user-${randomUUID()}`, `u_${randomUUID()}`],
  );
  return shareId;
}

function result(shareId: string, sequence: number, sessionStatus: string): ImportResultPayload {
  return {
    share_id: shareId,
    outcome: "imported",
    sequence,
    session_status: sessionStatus,
    at: new Date().toISOString(),
  };
}

async function shareOf(shareId: string) {
  const { rows } = await pool.query(
    `select status, import_status, import_session_status, import_result_sequence
     from shares where share_id = $1`,
    [shareId],
  );
  return rows[0] as {
    status: string;
    import_status: string | null;
    import_session_status: string | null;
    import_result_sequence: number | null;
  };
}

async function auditOf(shareId: string) {
  const { rows } = await pool.query(
    "select action, outcome, details from audit_events where share_id = $1 order by id",
    [shareId],
  );
  return rows as Array<{ action: string; outcome: string; details: Record<string, unknown> }>;
}

describe("results that arrive together (one batch statement)", () => {
  it("applies the higher sequence of two results for one share, in either order, and refuses the other as replayed", async () => {
    const { applier, recorded } = newApplier();
    const [fillerA, fillerB, newerFirst, olderFirst] = await Promise.all(
      Array.from({ length: 4 }, () => sentShare()),
    );
    const submitted = [
      // These two take both statements the applier keeps in flight, so the next four wait and go
      // together in one statement.
      result(fillerA as string, 1, "Approved"),
      result(fillerB as string, 1, "Approved"),
      result(newerFirst as string, 2, "Approved"),
      result(newerFirst as string, 1, "In Review"),
      result(olderFirst as string, 1, "In Review"),
      result(olderFirst as string, 2, "Approved"),
    ];
    let outcomes: string[] = [];
    const statements = await preparedStatementsOf(pool, async () => {
      outcomes = await Promise.all(submitted.map((item) => applier.apply("partner-b", item)));
    });
    const batches = statements
      .filter((statement) => statement.text.includes("update shares s set status = i.next_status"))
      .map((statement) => (statement.values[0] as unknown[]).length);
    expect(batches).toEqual([1, 1, 4]);
    expect(outcomes).toEqual(["applied", "applied", "applied", "replayed", "replayed", "applied"]);
    expect(await recorded.count("apply_import_result")).toBe(0);

    for (const shareId of [newerFirst, olderFirst] as string[]) {
      expect(await shareOf(shareId)).toEqual({
        status: "imported",
        import_status: "imported",
        import_session_status: "Approved",
        import_result_sequence: 2,
      });
      const events = await auditOf(shareId);
      expect(events.map((event) => [event.action, event.details.sequence ?? event.details])).toEqual([
        ["share.result", 2],
        [
          "share.result_replayed",
          { received_sequence: 1, recorded_sequence: 2, session_status: "In Review" },
        ],
      ]);
    }
  });

  it("ends at the highest sequence whatever order a burst of results for one share comes in", async () => {
    const { applier } = newApplier();
    const shareId = await sentShare();
    const sequences = [5, 2, 8, 1, 7, 3, 6, 4];
    const outcomes = await Promise.all(
      sequences.map((sequence) => applier.apply("partner-b", result(shareId, sequence, `S${sequence}`))),
    );
    expect(outcomes.every((outcome) => outcome === "applied" || outcome === "replayed")).toBe(true);
    // The highest always applies: nothing recorded can be at or above it. (Which of the others
    // apply depends on the order their statements take the share's row lock.)
    expect(outcomes[2]).toBe("applied");
    expect(await shareOf(shareId)).toMatchObject({ import_session_status: "S8", import_result_sequence: 8 });
    // Every applied result was newer than the one applied before it: the applied sequences rise.
    const applied = (await auditOf(shareId))
      .filter((event) => event.action !== "share.result_replayed")
      .map((event) => event.details.sequence as number);
    expect(applied).toEqual([...applied].sort((a, b) => a - b));
    expect(applied.at(-1)).toBe(8);
    const refused = (await auditOf(shareId)).filter((event) => event.action === "share.result_replayed");
    expect(applied.length + refused.length).toBe(sequences.length);
  });
});

describe("a result for a share that already has one (read first, then applied under a guard)", () => {
  it("refuses an older or a repeated sequence, leaving the share as it is, and applies a newer one", async () => {
    const { applier } = newApplier();
    const shareId = await sentShare();
    expect(await applier.apply("partner-b", result(shareId, 1, "In Review"))).toBe("applied");
    expect(await applier.apply("partner-b", result(shareId, 2, "Approved"))).toBe("applied");
    const approved = await shareOf(shareId);
    expect(approved).toEqual({
      status: "imported",
      import_status: "imported",
      import_session_status: "Approved",
      import_result_sequence: 2,
    });

    // The older result would roll Approved back to In Review; the repeat says what is recorded.
    expect(await applier.apply("partner-b", result(shareId, 1, "In Review"))).toBe("replayed");
    expect(await applier.apply("partner-b", result(shareId, 2, "Approved"))).toBe("replayed");
    expect(await shareOf(shareId)).toEqual(approved);

    expect(await applier.apply("partner-b", result(shareId, 3, "Declined"))).toBe("applied");
    expect(await shareOf(shareId)).toMatchObject({
      import_session_status: "Declined",
      import_result_sequence: 3,
    });

    const events = await auditOf(shareId);
    expect(events.map((event) => event.action)).toEqual([
      "share.result",
      "share.result",
      "share.result_replayed",
      "share.result_replayed",
      "share.result",
    ]);
    expect(events[2]).toMatchObject({
      outcome: "imported",
      details: { received_sequence: 1, recorded_sequence: 2, session_status: "In Review" },
    });
    expect(events[3]?.details).toMatchObject({ received_sequence: 2, recorded_sequence: 2 });
  });

  it("takes any sequence for a share imported before sequences were recorded, then holds to it", async () => {
    const { applier } = newApplier();
    const shareId = await sentShare();
    await pool.query(
      `update shares set status = 'imported', import_status = 'imported', import_session_status = 'In Review'
       where share_id = $1`,
      [shareId],
    );
    expect(await applier.apply("partner-b", result(shareId, 4, "Approved"))).toBe("applied");
    expect(await applier.apply("partner-b", result(shareId, 3, "In Review"))).toBe("replayed");
    expect(await shareOf(shareId)).toMatchObject({
      import_session_status: "Approved",
      import_result_sequence: 4,
    });
  });

  it("refuses another partner's result before looking at its sequence", async () => {
    const { applier } = newApplier();
    const shareId = await sentShare();
    expect(await applier.apply("partner-b", result(shareId, 2, "Approved"))).toBe("applied");
    expect(await applier.apply("partner-c", result(shareId, 1, "In Review"))).toBe("wrong_source");
    expect(await applier.apply("partner-c", result(shareId, 9, "In Review"))).toBe("wrong_source");
    expect(await shareOf(shareId)).toMatchObject({
      import_session_status: "Approved",
      import_result_sequence: 2,
    });
  });
});
