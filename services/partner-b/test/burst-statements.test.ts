import { randomUUID } from "node:crypto";
import { createDrizzle, createPgPool } from "@share-broker/service-kit";
import {
  createTestDatabase,
  expectReadsByPrimaryKey,
  preparedStatementsOf,
  type TestDatabase,
} from "@share-broker/testing";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AuditLog } from "../src/audit/audit-log.js";
import type { Database } from "../src/db/database.js";
import * as schema from "../src/db/schema/index.js";
import { finishImported, type PendingImported } from "../src/imports/import-batches.js";
import { MIGRATIONS_FOLDER } from "./support/processes.js";

/**
 * A backlog after a quiet spell: the planner's statistics say almost no import is open, then tens
 * of thousands are. Finishing a batch must still find its imports by primary key, not read every
 * open import through the status index (a batch's cost would then grow with the backlog).
 */

let database: TestDatabase;
let pool: pg.Pool;
let db: Database;
const QUIET = 2_000;
const BACKLOG = 8_000;

async function insertImports(count: number, status: string): Promise<void> {
  await pool.query(
    `insert into imports (import_id, source_partner, share_id, status, vendor_data, token_hash, token_id,
                          token_expires_at, lease_owner, leased_until)
     select gen_random_uuid(), 'partner-a', gen_random_uuid()::text, $2, 'user-' || n, repeat('a', 64),
            'tok-' || n, now() + interval '15 minutes', 'job-' || n, now() + interval '30 seconds'
     from generate_series(1, $1::int) as n`,
    [count, status],
  );
}

beforeAll(async () => {
  database = await createTestDatabase(MIGRATIONS_FOLDER);
  pool = createPgPool(database.url, { max: 2 });
  db = createDrizzle(pool, schema) as Database;
  await insertImports(QUIET, "imported");
  await pool.query("analyze imports");
  await insertImports(BACKLOG, "importing");
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

it("finishes a batch of imports by primary key while the statistics still say nothing is open", async () => {
  const { rows: open } = await pool.query<{ import_id: string; share_id: string }>(
    "select import_id, share_id from imports where status = 'importing' limit 64",
  );
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const pending: PendingImported[] = open.map((row) => ({
    key: { shareId: row.share_id, importId: row.import_id },
    copy: { sessionId: randomUUID(), status: "Approved", statusAt: now, sharedFromSession: randomUUID() },
    details: {},
  }));
  let finished: unknown[] = [];
  const [statement] = await preparedStatementsOf(pool, async () => {
    finished = await finishImported(db, new AuditLog(), pending);
  });
  expect(finished.every((row) => row !== undefined)).toBe(true);
  const { rows: after } = await pool.query<{ status: string }>(
    "select status from imports where import_id = any($1::uuid[])",
    [open.map((row) => row.import_id)],
  );
  expect(after.map((row) => row.status)).toEqual(open.map(() => "imported"));

  if (!statement) throw new Error("finishImported ran no prepared statement");
  await expectReadsByPrimaryKey(pool, statement, "imports");
});
