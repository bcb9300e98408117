import type { RunSummary } from "../runner.js";

/** The run as JSON, for tools: one entry per scenario with its expectation and outcome. */
export function jsonReport(summary: RunSummary): string {
  return `${JSON.stringify(
    {
      started_at: summary.startedAt,
      duration_seconds: Number((summary.durationMs / 1000).toFixed(3)),
      ok: summary.ok,
      counts: summary.counts,
      scenarios: summary.results.map((result) => ({
        name: result.name,
        expectation: result.expectation,
        status: result.status,
        seconds: Number((result.durationMs / 1000).toFixed(3)),
        detail: result.detail,
      })),
    },
    null,
    2,
  )}\n`;
}
