import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freshDatabaseUrl } from "@share-broker/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrateDatabase } from "../src/index.js";

const PARTNER_A_MIGRATIONS = fileURLToPath(new URL("../../../services/partner-a/drizzle", import.meta.url));

async function tablesOf(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by 1",
    );
    return rows.map((row) => row.table_name);
  } finally {
    await client.end();
  }
}

async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, "/postgres") });
  await admin.connect();
  await admin.query(`drop database if exists "${new URL(url).pathname.slice(1)}" with (force)`);
  await admin.end();
}

describe("migrateDatabase", () => {
  it("creates a missing database and applies the committed migrations", async () => {
    const url = freshDatabaseUrl();
    try {
      await migrateDatabase(url, PARTNER_A_MIGRATIONS);
      expect(await tablesOf(url)).toContain("audit_events");
    } finally {
      await dropDatabase(url);
    }
  });

  it("is safe to run concurrently and again: migrations apply exactly once", async () => {
    const url = freshDatabaseUrl();
    try {
      await Promise.all([
        migrateDatabase(url, PARTNER_A_MIGRATIONS),
        migrateDatabase(url, PARTNER_A_MIGRATIONS),
      ]);
      await migrateDatabase(url, PARTNER_A_MIGRATIONS);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query("select count(*)::int as n from drizzle.__drizzle_migrations");
      await client.end();
      const journal = JSON.parse(readFileSync(`${PARTNER_A_MIGRATIONS}/meta/_journal.json`, "utf8"));
      expect(journal.entries.length).toBeGreaterThan(0);
      expect(rows[0].n).toBe(journal.entries.length);
    } finally {
      await dropDatabase(url);
    }
  });
});
