import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@share-broker/testing";
import pg from "pg";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditEventsRetention,
  RETENTION_DELETED_METRIC,
  RETENTION_FAILURES_METRIC,
  TableRetention,
} from "../src/index.js";

// partner-b's schema: webhook_events, result_outbox and the append-only audit trail with its trigger.
const MIGRATIONS = fileURLToPath(new URL("../../../services/partner-b/drizzle", import.meta.url));

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase(MIGRATIONS);
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

async function addWebhookEvents(prefix: string, count: number, daysOld: number) {
  await pool.query(
    `insert into webhook_events (event_id, webhook_type, applied, received_at)
     select $1 || n, 'status.updated', 'applied', now() - make_interval(days => $2) from generate_series(1, $3) n`,
    [prefix, daysOld, count],
  );
}

const countOf = async (sql: string, values: unknown[] = []) =>
  (await pool.query<{ n: number }>(sql, values)).rows[0]?.n;

describe("TableRetention", () => {
  const webhookRule = { name: "webhook_events", table: "webhook_events", ageColumn: "received_at", days: 10 };

  it("deletes only rows older than the rule's days, in batches, at most maxBatchesPerPass per pass", async () => {
    await addWebhookEvents("batch-old-", 25, 11);
    await addWebhookEvents("batch-young-", 3, 9);
    const { logger, lines } = capturingLogger();
    const registry = new Registry();
    const retention = new TableRetention(
      pool,
      [webhookRule],
      { batchSize: 10, maxBatchesPerPass: 2, intervalMs: 60_000 },
      logger,
      registry,
    );

    expect(await retention.purge()).toEqual({ deleted: { webhook_events: 20 }, backlog: true });
    expect(await retention.purge()).toEqual({ deleted: { webhook_events: 5 }, backlog: false });
    expect(await retention.purge()).toEqual({ deleted: { webhook_events: 0 }, backlog: false });
    const left = await countOf("select count(*)::int as n from webhook_events where event_id like 'batch-%'");
    expect(left).toBe(3);
    expect(lines.filter((line) => line.msg === "retention deleted old rows")).toEqual([
      expect.objectContaining({ rule: "webhook_events", deleted: 20, backlog: true, older_than_days: 10 }),
      expect.objectContaining({ rule: "webhook_events", deleted: 5, backlog: false }),
    ]);
    expect(await registry.getSingleMetricAsString(RETENTION_DELETED_METRIC)).toContain(
      `${RETENTION_DELETED_METRIC}{rule="webhook_events"} 25`,
    );
  });

  it("logs and counts a failing rule and still runs the others", async () => {
    await addWebhookEvents("failing-old-", 2, 30);
    const { logger, lines } = capturingLogger();
    const registry = new Registry();
    const retention = new TableRetention(
      pool,
      [{ name: "missing", table: "no_such_table", ageColumn: "created_at", days: 1 }, webhookRule],
      { batchSize: 100, maxBatchesPerPass: 5, intervalMs: 60_000 },
      logger,
      registry,
    );
    expect(await retention.purge()).toEqual({ deleted: { missing: 0, webhook_events: 2 }, backlog: false });
    expect(
      lines.find((line) => line.msg === "retention failed; the rule runs again next pass"),
    ).toMatchObject({
      rule: "missing",
      code: "42P01",
    });
    expect(await registry.getSingleMetricAsString(RETENTION_FAILURES_METRIC)).toContain(
      `${RETENTION_FAILURES_METRIC}{rule="missing"} 1`,
    );
  });

  it("refuses a rule whose table or column is not a plain identifier", () => {
    const { logger } = capturingLogger();
    expect(
      () =>
        new TableRetention(
          pool,
          [{ ...webhookRule, table: "webhook_events; drop table x" }],
          { batchSize: 1, maxBatchesPerPass: 1, intervalMs: 1000 },
          logger,
        ),
    ).toThrow(/plain identifiers/);
  });

  it("deletes old audit events through the append-only trigger, which still refuses any other delete", async () => {
    await pool.query(
      `insert into audit_events (action, outcome, occurred_at) values
       ('result.sent', 'old', now() - interval '40 days'), ('result.sent', 'young', now() - interval '20 days')`,
    );
    await expect(pool.query("delete from audit_events where outcome = 'young'")).rejects.toThrow(
      /append-only/,
    );
    const { logger } = capturingLogger();
    const retention = new TableRetention(
      pool,
      [auditEventsRetention(30)],
      { batchSize: 100, maxBatchesPerPass: 5, intervalMs: 60_000 },
      logger,
    );
    expect((await retention.purge()).deleted).toEqual({ audit_events: 1 });
    const outcomes = (await pool.query("select outcome from audit_events order by id")).rows.map(
      (row) => row.outcome,
    );
    expect(outcomes).toEqual(["young"]);
  });
});

describe("partner-b's audit trail under erasure", () => {
  it("lets an erasure transaction change an event's details only", async () => {
    const { rows } = await pool.query<{ id: string }>(
      `insert into audit_events (action, outcome, details) values ('import.received', 'received', '{"vendor_data": "v-1", "job_id": "j"}') returning id`,
    );
    const id = rows[0]?.id;
    await expect(pool.query("update audit_events set details = '{}' where id = $1", [id])).rejects.toThrow(
      /append-only/,
    );
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("select set_config('share_broker.audit_erasure', 'on', true)");
      await client.query("update audit_events set details = details - 'vendor_data' where id = $1", [id]);
      await expect(
        client.query("update audit_events set outcome = 'changed' where id = $1", [id]),
      ).rejects.toThrow(/append-only/);
      await client.query("rollback");
      await client.query("begin");
      await client.query("select set_config('share_broker.audit_erasure', 'on', true)");
      await client.query("update audit_events set details = details - 'vendor_data' where id = $1", [id]);
      await client.query("commit");
    } finally {
      client.release();
    }
    const [event] = (await pool.query("select outcome, details from audit_events where id = $1", [id])).rows;
    expect(event).toEqual({ outcome: "received", details: { job_id: "j" } });
  });
});
