import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ImportResultPayload } from "@share-broker/channel";
import { createDrizzle, createPgPool } from "@share-broker/service-kit";
import { recordedFallbacks } from "@share-broker/service-kit/testing";
import { createTestDatabase, type TestDatabase } from "@share-broker/testing";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { Pseudonymizer } from "../src/audit/pseudonym.js";
import { PARTNER_A_BATCHES } from "../src/batches.js";
import type { Database } from "../src/db/database.js";
import * as schema from "../src/db/schema/index.js";
import { ImportResultApplier } from "../src/shares/apply-import-result.js";

// Results that arrive together are applied by one statement (apply_import_result). When it fails,
// each result must still be applied on its own, and the failure must be seen: a warning naming the
// batch and share_broker_batch_fallbacks_total{batch="apply_import_result"} on the service's registry.
// (accept_share, the other batch of partner-a, is tested over HTTP in tests/partner-a.)

let database: TestDatabase;
let pool: pg.Pool;
let db: Database;
const audit = new AuditLog(new Pseudonymizer("batch-fallbacks-test-secret"));

beforeAll(async () => {
  database = await createTestDatabase(fileURLToPath(new URL("../drizzle", import.meta.url)));
  pool = createPgPool(database.url, { max: 4 });
  db = createDrizzle(pool, schema) as Database;
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

/** A share sent to partner-b, waiting for its import result; user ids are what must never be logged. */
async function sentShare() {
  const share = { shareId: randomUUID(), userId: `user-${randomUUID()}`, pseudonym: `u_${randomUUID()}` };
  await pool.query(
    `insert into shares (share_id, consent_id, user_id, user_pseudonym, session_id, audience, purpose,
                         scope, ttl_seconds, status, sent_at)
     values ($1, gen_random_uuid(), $2, $3, gen_random_uuid(), 'partner-b', 'onboarding', 'kyc', 900, 'sent', now())`,
    [share.shareId, share.userId, share.pseudonym],
  );
  return share;
}

async function statusOf(shareId: string) {
  const { rows } = await pool.query("select status, import_status from shares where share_id = $1", [
    shareId,
  ]);
  return rows[0] as { status: string; import_status: string | null };
}

it("applies each result of a failed batch on its own, counts the fallback once and logs it without user ids", async () => {
  const recorded = recordedFallbacks("partner-a", PARTNER_A_BATCHES);
  const applier = new ImportResultApplier(db, audit, recorded.fallbacks);
  const shares = await Promise.all(Array.from({ length: 5 }, () => sentShare()));
  const result = (shareId: string, outcome = "imported") =>
    ({
      share_id: shareId,
      outcome,
      sequence: 1,
      session_status: "Approved",
      at: new Date().toISOString(),
    }) as ImportResultPayload;
  const BAD = 3;
  // Submitted together: the first two go alone (two statements in flight), the other three share the
  // next statement. The bad one's outcome maps to no share status, so that statement breaks shares'
  // NOT NULL on status; Postgres's detail then quotes the failing row, user id included.
  const outcomes = await Promise.allSettled(
    shares.map((share, index) =>
      applier.apply("partner-b", result(share.shareId, index === BAD ? "bogus" : undefined)),
    ),
  );

  expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : "rejected"))).toEqual([
    "applied",
    "applied",
    "applied",
    "rejected",
    "applied",
  ]);
  for (const [index, share] of shares.entries()) {
    expect(await statusOf(share.shareId)).toEqual(
      index === BAD
        ? { status: "sent", import_status: null }
        : { status: "imported", import_status: "imported" },
    );
  }

  // Such an error quotes the failing row in its detail, user id included:
  const probe = await pool
    .query("update shares set status = null where share_id = $1", [shares[BAD]?.shareId])
    .catch((error: unknown) => error as { detail?: string });
  expect((probe as { detail?: string }).detail).toContain(shares[BAD]?.userId);

  expect(await recorded.count("apply_import_result")).toBe(1);
  expect(await recorded.count("accept_share")).toBe(0);
  expect(recorded.warnings("apply_import_result")).toEqual([
    expect.objectContaining({
      level: "warn",
      msg: "batch statement failed; its items fell back",
      batch: "apply_import_result",
      fallback: PARTNER_A_BATCHES.apply_import_result,
      items: 3,
      error: "DatabaseError",
      code: "23502",
      sqlstate_class: "integrity_constraint_violation",
      table: "shares",
      column: "status",
    }),
  ]);
  const logged = recorded.lines.join("\n");
  for (const share of shares) {
    expect(logged).not.toContain(share.userId);
    expect(logged).not.toContain(share.pseudonym);
  }
});
