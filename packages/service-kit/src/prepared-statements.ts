import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Pool, QueryResultRow } from "pg";

const dialect = new PgDialect();

/**
 * Runs one autocommitted statement (on the database's pool, so never inside a transaction) as a named prepared statement: Postgres parses it once per
 * connection and, after a few runs, plans it once too, where an unnamed query is parsed and planned
 * on every call. For the hot path's few multi-table statements that is a large part of their cost.
 *
 * `name` must stand for one statement text: node-postgres refuses a name reused with other text,
 * so a call site whose SQL varies in shape (not only in values) needs a name per shape.
 */
export async function executePrepared<R extends QueryResultRow = Record<string, unknown>>(
  db: { $client: Pool },
  name: string,
  query: SQL,
): Promise<R[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const result = await db.$client.query<R>({ name, text, values: params });
  return result.rows;
}
