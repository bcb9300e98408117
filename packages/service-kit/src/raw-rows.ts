import { getTableColumns, type InferSelectModel, type SQL, sql, type Table } from "drizzle-orm";

/**
 * Maps rows of a raw `returning *` / `select *` (snake_case columns, driver values) to the table's
 * typed row, for the statements drizzle's builder cannot express: data-modifying CTEs that do an
 * effect and its audit in one round trip.
 */
export function rowMapper<T extends Table>(table: T): (raw: Record<string, unknown>) => InferSelectModel<T> {
  const columns = Object.entries(getTableColumns(table));
  return (raw) => {
    const row: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      if (!(column.name in raw)) throw new Error(`raw row lacks column "${column.name}"`);
      const value = raw[column.name];
      row[key] = value === null ? null : column.mapFromDriverValue(value);
    }
    return row as InferSelectModel<T>;
  };
}

/**
 * The table's columns by name (`alias.col, …`), for raw statements that return whole rows. Prepared
 * statements must not say `*`: a migration that adds a column while connections stay open would
 * make each of them fail with "cached plan must not change result type" until the connection ends.
 */
export function columnsOf(table: Table, alias?: string): SQL {
  const names = Object.values(getTableColumns(table)).map((column) =>
    alias ? sql`${sql.identifier(alias)}.${sql.identifier(column.name)}` : sql.identifier(column.name),
  );
  return sql.join(names, sql`, `);
}
