import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { inject } from "vitest";

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** A hash of every migration file: a changed migration gets a fresh template. */
function migrationsHash(folder: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(folder);
  return hash.digest("hex").slice(0, 12);
}

async function ensureTemplate(adminUrl: string, folder: string): Promise<string> {
  const template = `sbtpl_${migrationsHash(folder)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Test files run in parallel workers; one builds the template while the others wait.
    await admin.query("select pg_advisory_lock(hashtext($1))", [template]);
    const found = await admin.query("select 1 from pg_database where datname = $1", [template]);
    if (found.rowCount === 0) {
      const building = `${template}_building`;
      await admin.query(`drop database if exists "${building}" with (force)`);
      await admin.query(`create database "${building}"`);
      const client = new pg.Client({ connectionString: withDatabase(adminUrl, building) });
      await client.connect();
      try {
        await migrate(drizzle(client), { migrationsFolder: folder });
      } finally {
        await client.end();
      }
      // Renamed only once complete, so a crash mid-migration never leaves a half-built template.
      await admin.query(`alter database "${building}" rename to "${template}"`);
    }
    await admin.query("select pg_advisory_unlock(hashtext($1))", [template]);
  } finally {
    await admin.end();
  }
  return template;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A fresh database for one test file, cloned from a template migrated once per migration set. */
export async function createTestDatabase(migrationsFolder: string): Promise<TestDatabase> {
  const { postgresUrl, runId } = inject("testInfra");
  const template = await ensureTemplate(postgresUrl, migrationsFolder);
  const name = `${runId}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(postgresUrl, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A database URL on the test server for a database that does not exist yet (migration tests). */
export function freshDatabaseUrl(): string {
  const { postgresUrl, runId } = inject("testInfra");
  return withDatabase(postgresUrl, `${runId}_${randomBytes(4).toString("hex")}`);
}
