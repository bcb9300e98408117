import type { RunSummary } from "../runner.js";

const MARK = { passed: "pass", failed: "FAIL", skipped: "skip" } as const;

/** A plain table: scenario, result, seconds, detail; then the totals. */
export function textReport(summary: RunSummary): string {
  const rows = summary.results.map((result) => [
    result.name,
    MARK[result.status],
    (result.durationMs / 1000).toFixed(1),
    result.detail.replace(/\s*\n\s*/g, " "),
  ]);
  const header = ["scenario", "result", "seconds", "detail"];
  const widths = [0, 1, 2].map((column) =>
    Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const { counts } = summary;
  return [
    line(header),
    line(widths.map((width) => "-".repeat(width)).concat("------")),
    ...rows.map(line),
    "",
    `${counts.total} scenarios: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${(summary.durationMs / 1000).toFixed(1)} s`,
    "",
  ].join("\n");
}
