import { capturedLog, metricValue, testPostgresUrl } from "@share-broker/testing";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_FALLBACKS_METRIC,
  BatchFallbacks,
  createLogger,
  createMetricsRegistry,
  GroupCommitMismatch,
  safeErrorFields,
} from "../src/index.js";

// What a fallback's warning says about its error is checked on errors Postgres itself raised with an
// input value in them, the way a batch statement's would: the value must not reach the line.
const SECRET = "sk_live_fallback-test-value-0001";

let pool: pg.Pool;

beforeAll(() => {
  pool = new pg.Pool({ connectionString: testPostgresUrl(), max: 1 });
});
afterAll(async () => {
  await pool?.end();
});

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("the statement was expected to fail");
}

/** A unique violation whose `detail` names the duplicate value, as an Idempotency-Key race's does. */
async function uniqueViolation(): Promise<unknown> {
  const client = await pool.connect();
  try {
    await client.query("create temp table fallback_keys (key text constraint fallback_keys_key unique)");
    return await failureOf(() =>
      client.query("insert into fallback_keys (key) select unnest($1::text[])", [[SECRET, SECRET]]),
    );
  } finally {
    await client.query("drop table if exists fallback_keys");
    client.release();
  }
}

function capture() {
  const log = capturedLog();
  return { ...log, logger: createLogger({ service: "kit-test", destination: log.destination }) };
}

const CATALOG = { demo_insert: "each item takes its own insert", demo_update: "the lease lapses" } as const;

describe("safeErrorFields", () => {
  it("keeps a unique violation's code, class and constraint, and neither its message nor its detail", async () => {
    const error = await uniqueViolation();
    expect((error as { detail?: string }).detail).toContain(SECRET);
    const fields = safeErrorFields(error);
    expect(fields).toEqual({
      error: "DatabaseError",
      code: "23505",
      sqlstate_class: "integrity_constraint_violation",
      table: "fallback_keys",
      constraint: "fallback_keys_key",
      schema: expect.stringMatching(/^pg_temp/),
    });
    expect(JSON.stringify(fields)).not.toContain(SECRET);
  });

  it("drops a message that quotes the value Postgres refused", async () => {
    const error = await failureOf(() => pool.query("select $1::uuid", [SECRET]));
    expect(String(error)).toContain(SECRET);
    expect(safeErrorFields(error)).toEqual({
      error: "DatabaseError",
      code: "22P02",
      sqlstate_class: "data_exception",
    });
  });

  it("finds the code under drizzle's wrapper, whose message lists the statement's parameters", async () => {
    const db = drizzle(pool);
    const error = await failureOf(() => db.execute(sql`select ${SECRET}::uuid`));
    expect(String((error as Error).message)).toContain(SECRET);
    const fields = safeErrorFields(error);
    expect(fields).toMatchObject({ code: "22P02", sqlstate_class: "data_exception" });
    expect(JSON.stringify(fields)).not.toContain(SECRET);
  });

  it("says what it can of errors that are not Postgres's", () => {
    expect(safeErrorFields(new GroupCommitMismatch(1, 2))).toEqual({
      error: "GroupCommitMismatch",
      code: "group_commit_mismatch",
    });
    expect(safeErrorFields(new Error(`connect to ${SECRET} failed`))).toEqual({ error: "Error" });
    // A free-text "code" is not an identifier and is left out.
    expect(safeErrorFields({ code: `bad ${SECRET}` })).toEqual({});
    expect(safeErrorFields(SECRET)).toEqual({});
  });
});

describe("BatchFallbacks", () => {
  it("counts each fallback by batch, from 0 for every batch of the catalog, and warns once with the reason", async () => {
    const registry = createMetricsRegistry("kit-test");
    const { logger, lines, entries } = capture();
    const fallbacks = new BatchFallbacks(registry, logger, CATALOG);
    const series = async () =>
      (await registry.metrics()).split("\n").filter((line) => line.startsWith(BATCH_FALLBACKS_METRIC));
    expect(await series()).toEqual([
      `${BATCH_FALLBACKS_METRIC}{batch="demo_insert",service="kit-test"} 0`,
      `${BATCH_FALLBACKS_METRIC}{batch="demo_update",service="kit-test"} 0`,
    ]);

    const error = await uniqueViolation();
    fallbacks.record("demo_insert", error, 3);
    fallbacks.for("demo_insert")(error, 2);
    expect(await series()).toEqual([
      `${BATCH_FALLBACKS_METRIC}{batch="demo_insert",service="kit-test"} 2`,
      `${BATCH_FALLBACKS_METRIC}{batch="demo_update",service="kit-test"} 0`,
    ]);
    expect(entries()).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "batch statement failed; its items fell back",
        batch: "demo_insert",
        items: 3,
        fallback: "each item takes its own insert",
        code: "23505",
        constraint: "fallback_keys_key",
      }),
      expect.objectContaining({ level: "warn", batch: "demo_insert", items: 2, code: "23505" }),
    ]);
    expect(lines.join("")).not.toContain(SECRET);
  });

  it("shares the counter of a registry that already has it", async () => {
    const registry = createMetricsRegistry("kit-test");
    const { logger } = capture();
    new BatchFallbacks(registry, logger, CATALOG).record("demo_update", new Error("x"), 1);
    new BatchFallbacks(registry, logger, CATALOG).record("demo_update", new Error("x"), 1);
    const exposition = await registry.metrics();
    expect(
      metricValue(exposition, BATCH_FALLBACKS_METRIC, { batch: "demo_update", service: "kit-test" }),
    ).toBe(2);
    expect(
      metricValue(exposition, BATCH_FALLBACKS_METRIC, { service: "kit-test", batch: "demo_insert" }),
    ).toBe(0);
    expect(metricValue(exposition, BATCH_FALLBACKS_METRIC, { batch: "demo_update" })).toBeUndefined();
  });
});
