export const fmt = {
  int: (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–"),
  one: (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "–"),
  ms: (value: number) =>
    Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : Math.round(value)} ms` : "–",
  mib: (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} MiB` : "–"),
  pct: (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)}%` : "–"),
  bytes: (value: number) =>
    !Number.isFinite(value)
      ? "–"
      : Math.abs(value) >= 1024 * 1024
        ? `${(value / 1024 / 1024).toFixed(1)} MiB`
        : Math.abs(value) >= 1024
          ? `${(value / 1024).toFixed(1)} KiB`
          : `${value.toFixed(0)} B`,
};

/**
 * A plain-text table: the first row is the header; columns after the first are right-aligned
 * (numbers) unless `leftAligned` says otherwise (prose).
 */
export function textTable(rows: string[][], leftAligned = false): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 || leftAligned ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const [header, ...body] = rows;
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(header ?? []), rule, ...body.map(line)].join("\n");
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
