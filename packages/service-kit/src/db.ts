import { type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import pg from "pg";

export type { NodePgDatabase } from "drizzle-orm/node-postgres";

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

export function createPgPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on("error", () => undefined);
  return pool;
}

export function createDrizzle<S extends Record<string, unknown>>(pool: pg.Pool, schema: S) {
  return drizzle(pool, { schema });
}

export function postgresReadiness(pool: pg.Pool) {
  return async () => {
    await pool.query("select 1");
  };
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) throw new Error(`unsupported database name "${name}" in the URL`);
  return name;
}

/** The same server, database `postgres`: where CREATE DATABASE is issued. */
export function maintenanceUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = "/postgres";
  return parsed.toString();
}

/** Creates the URL's database when it does not exist yet; safe to run concurrently. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const client = new pg.Client({ connectionString: maintenanceUrl(url) });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`create database "${name}"`);
      } catch (error) {
        // 42P04 duplicate_database, 23505 unique_violation: another process won the race.
        const code = postgresErrorCode(error);
        if (code !== "42P04" && code !== "23505") throw error;
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * Applies the committed Drizzle migrations in `folder`. An advisory lock makes concurrent runs
 * (two replicas, two test workers) wait for each other instead of racing.
 */
export async function migrateDatabase(url: string, folder: string): Promise<void> {
  await ensureDatabase(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock(hashtext('share-broker-migrations'))");
    await migrate(drizzle(client), { migrationsFolder: folder });
  } finally {
    await client.end();
  }
}

/**
 * The SQLSTATE of a Postgres error, also when drizzle wrapped it (DrizzleQueryError keeps the
 * driver's error as its cause): e.g. "23505" for a unique violation.
 */
export function postgresErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A CHECK condition holding a text column to a fixed list (a state machine's states). The values
 * are constants of the contracts package; the pattern guard keeps them plain words in the SQL.
 */
export function oneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  for (const value of values) {
    if (!/^[a-z][a-z_+]*$/.test(value)) throw new Error(`not a plain state name: ${value}`);
  }
  return sql`${column} in (${sql.raw(values.map((value) => `'${value}'`).join(", "))})`;
}
