import { createHash, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createDrizzle, createPgPool } from "@share-broker/service-kit";
import { recordedFallbacks } from "@share-broker/service-kit/testing";
import {
  createTestDatabase,
  expectReadsByPrimaryKey,
  preparedStatementsOf,
  type TestDatabase,
} from "@share-broker/testing";
import { inArray } from "drizzle-orm";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import { Pseudonymizer } from "../src/audit/pseudonym.js";
import { PARTNER_A_BATCHES } from "../src/batches.js";
import type { Database } from "../src/db/database.js";
import * as schema from "../src/db/schema/index.js";
import { shares } from "../src/db/schema/index.js";
import { ImportResultApplier } from "../src/shares/apply-import-result.js";
import { type MintedShare, recordMints } from "../src/shares/dispatch-statements.js";

/**
 * A campaign after a quiet spell: the planner's statistics say almost no share is open, then tens
 * of thousands are. The statements that touch a batch of shares must still find them by primary
 * key, not by reading every open share through the status index (which took ~0.4 s per batch at
 * 40,000 open shares and throttled the dispatcher to ~100 shares/s).
 */

let database: TestDatabase;
let pool: pg.Pool;
let db: Database;
const audit = new AuditLog(new Pseudonymizer("burst-statements-test-secret"));
const QUIET = 2_000;
const BURST = 8_000;

async function insertShares(count: number, status: string): Promise<void> {
  await pool.query(
    `insert into shares (share_id, consent_id, user_id, user_pseudonym, session_id, audience, purpose,
                         scope, ttl_seconds, status)
     select gen_random_uuid(), gen_random_uuid(), 'user-' || n, 'u_' || n, gen_random_uuid(),
            'partner-b', 'onboarding', 'kyc', 900, $2
     from generate_series(1, $1::int) as n`,
    [count, status],
  );
}

beforeAll(async () => {
  database = await createTestDatabase(fileURLToPath(new URL("../drizzle", import.meta.url)));
  pool = createPgPool(database.url, { max: 2 });
  db = createDrizzle(pool, schema) as Database;
  await insertShares(QUIET, "imported");
  await pool.query("analyze shares, share_dispatches");
  await insertShares(BURST, "accepted");
  // As accepting does: each open share has its outbox row.
  await pool.query(
    "insert into share_dispatches (share_id) select share_id from shares where status = 'accepted'",
  );
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

it("records a batch's mints by primary key while the statistics still say nothing is open", async () => {
  const batch = await db
    .select()
    .from(shares)
    .where(inArray(shares.status, ["accepted"]))
    .limit(64);
  const minted: MintedShare[] = batch.map((share) => {
    const token = `token-${share.shareId}`;
    return {
      share,
      token,
      tokenHash: createHash("sha256").update(token).digest("hex"),
      tokenId: randomUUID(),
      tokenExpiresAt: new Date(Date.now() + 900_000),
      sessionKind: "user",
      linkCode: `link-code-${share.shareId}`,
    };
  });
  let recorded = new Set<string>();
  const [statement] = await preparedStatementsOf(pool, async () => {
    recorded = await recordMints(db, audit, minted);
  });
  expect([...recorded].sort()).toEqual(batch.map((share) => share.shareId).sort());
  const after = await db
    .select({ status: shares.status })
    .from(shares)
    .where(
      inArray(
        shares.shareId,
        batch.map((share) => share.shareId),
      ),
    );
  expect(after.every((row) => row.status === "minted")).toBe(true);

  if (!statement) throw new Error("recordMints ran no prepared statement");
  await expectReadsByPrimaryKey(pool, statement, "shares");
  // The outbox is left to the planner: its estimate follows the table's real size even with stale
  // statistics, and at 8,000 rows one hashed pass over it is cheaper than 64 index probes.
});

it("applies a batch of results by primary key too", async () => {
  const sent = await db
    .select()
    .from(shares)
    .where(inArray(shares.status, ["accepted"]))
    .limit(64);
  const ids = sent.map((share) => share.shareId);
  await pool.query("update shares set status = 'sent', sent_at = now() where share_id = any($1::uuid[])", [
    ids,
  ]);
  const recorded = recordedFallbacks("partner-a", PARTNER_A_BATCHES);
  const applier = new ImportResultApplier(db, audit, recorded.fallbacks);
  let outcomes: unknown[] = [];
  const statements = await preparedStatementsOf(pool, async () => {
    // Submitted together, as a burst of results arrives: they share one statement (group commit).
    outcomes = await Promise.all(
      ids.map((shareId) =>
        applier.apply("partner-b", {
          share_id: shareId,
          outcome: "imported",
          sequence: 1,
          session_status: "Approved",
          at: new Date().toISOString(),
        }),
      ),
    );
  });
  expect(outcomes).toEqual(ids.map(() => "applied"));
  expect(await recorded.count("apply_import_result")).toBe(0);
  const after = await db.select({ status: shares.status }).from(shares).where(inArray(shares.shareId, ids));
  expect(after.map((row) => row.status)).toEqual(ids.map(() => "imported"));

  const batchSize = (statement: { values: unknown[] }) => (statement.values[0] as unknown[]).length;
  const [largest] = statements.sort((a, b) => batchSize(b) - batchSize(a));
  if (!largest) throw new Error("the applier ran no prepared statement");
  expect(batchSize(largest)).toBeGreaterThan(1);
  await expectReadsByPrimaryKey(pool, largest, "shares");
});
