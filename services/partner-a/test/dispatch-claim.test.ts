import { fileURLToPath } from "node:url";
import { createDrizzle, createPgPool } from "@share-broker/service-kit";
import { createTestDatabase, type TestDatabase } from "@share-broker/testing";
import type pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../src/db/database.js";
import * as schema from "../src/db/schema/index.js";
import { claimDue } from "../src/shares/dispatch-statements.js";

/**
 * A burst leaves tens of thousands of shares in the outbox (share_dispatches). Each dispatcher pass
 * claims the next batch; that claim must cost the same with 20,000 rows waiting as with 20, or the
 * dispatcher slows down exactly when it has the most to do.
 */

let database: TestDatabase;
let pool: pg.Pool;
let db: Database;
const BACKLOG = 20_000;

beforeAll(async () => {
  database = await createTestDatabase(fileURLToPath(new URL("../drizzle", import.meta.url)));
  pool = createPgPool(database.url, { max: 2 });
  db = createDrizzle(pool, schema) as Database;
  // Due one second apart, the oldest first; 100 leased and 100 not due yet.
  await pool.query(
    `insert into share_dispatches (share_id, due_at, leased_until)
     select gen_random_uuid(), now() - make_interval(secs => $1 - n),
            case when n <= 100 then now() + interval '1 minute' end
     from generate_series(1, $1::int) as n`,
    [BACKLOG],
  );
  await pool.query(
    `insert into share_dispatches (share_id, due_at)
     select gen_random_uuid(), now() + interval '1 hour' from generate_series(1, 100)`,
  );
  await pool.query("analyze share_dispatches");
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

it("claims the earliest due rows that nobody holds, reading only its batch through the due index", async () => {
  const statements: { text: string; values: unknown[] }[] = [];
  const query = pool.query.bind(pool);
  pool.query = ((config: unknown, ...rest: unknown[]) => {
    if (typeof config === "object" && config !== null && "text" in config) {
      statements.push(config as { text: string; values: unknown[] });
    }
    return (query as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof pool.query;

  const expected = await pool.query<{ share_id: string }>(
    `select share_id from share_dispatches
     where due_at <= now() and leased_until is null order by due_at limit 64`,
  );
  const claimed = await claimDue(db, 64, 30);
  pool.query = query;

  // A batch is a set (its rows are minted in parallel); which rows it holds is what matters.
  expect(claimed.map((row) => row.shareId).sort()).toEqual(expected.rows.map((row) => row.share_id).sort());
  expect(claimed.every((row) => row.attempts === 1)).toBe(true);
  const [statement] = statements;
  if (!statement) throw new Error("claimDue ran no statement");

  const [{ "QUERY PLAN": plan }] = (
    await pool.query<{ "QUERY PLAN": unknown }>(`explain (format json) ${statement.text}`, statement.values)
  ).rows as [{ "QUERY PLAN": unknown }];
  const scans: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (node["Relation Name"] === "share_dispatches") scans.push(String(node["Node Type"]));
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as [{ Plan: Record<string, unknown> }])[0].Plan);
  expect(scans.length).toBeGreaterThan(0);
  expect(scans).not.toContain("Seq Scan");
});
