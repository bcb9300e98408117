import type pg from "pg";
import { expect } from "vitest";

/** A statement as node-postgres sent it: its text and its values. */
export interface SentStatement {
  text: string;
  values: unknown[];
}

/**
 * Runs `work` and answers the statements it sent through `pool` as named prepared statements (the
 * services' hot statements), with their values, so a test can ask Postgres how it would plan them.
 */
export async function preparedStatementsOf(
  pool: pg.Pool,
  work: () => Promise<unknown>,
): Promise<SentStatement[]> {
  const statements: SentStatement[] = [];
  const query = pool.query.bind(pool);
  pool.query = ((config: unknown, ...rest: unknown[]) => {
    if (typeof config === "object" && config !== null && "name" in config) {
      statements.push(config as unknown as SentStatement);
    }
    return (query as (...args: unknown[]) => unknown)(config, ...rest);
  }) as typeof pool.query;
  try {
    await work();
  } finally {
    pool.query = query;
  }
  return statements;
}

/**
 * How Postgres would run a statement with its values, as a list: the name of each index the plan
 * reads, and "seq:<table>" for each table it scans whole (a cost that grows with the table, not
 * with the batch the statement was given).
 */
export async function accessPathsOf(pool: pg.Pool, statement: SentStatement): Promise<string[]> {
  const { rows } = await pool.query(`explain (format json) ${statement.text}`, statement.values);
  const paths: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (typeof node["Index Name"] === "string") paths.push(node["Index Name"]);
    if (node["Node Type"] === "Seq Scan") paths.push(`seq:${String(node["Relation Name"])}`);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((rows[0]["QUERY PLAN"] as [{ Plan: Record<string, unknown> }])[0].Plan);
  return paths;
}

/**
 * Asserts that Postgres would find a batch statement's rows of `table` by primary key: through
 * `<table>_pkey`, neither through `<table>_status_idx` (which reads every open row when statistics
 * are stale) nor by scanning the whole table.
 */
export async function expectReadsByPrimaryKey(
  pool: pg.Pool,
  statement: SentStatement,
  table: string,
): Promise<void> {
  const paths = await accessPathsOf(pool, statement);
  expect(paths).toContain(`${table}_pkey`);
  expect(paths).not.toContain(`${table}_status_idx`);
  expect(paths).not.toContain(`seq:${table}`);
}
