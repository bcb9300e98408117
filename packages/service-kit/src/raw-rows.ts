import { getTableColumns, type InferSelectModel, type Table } from "drizzle-orm";

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
