import { type SQL, sql } from "drizzle-orm";

/** A JSON value as one bound jsonb parameter (undefined members dropped, as the query builder does). */
export function jsonb(value: Record<string, unknown>): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}
