import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { RunSummary } from "../runner.js";
import { jsonReport } from "./json.js";
import { junitReport } from "./junit.js";
import { textReport } from "./text.js";

export const REPORT_FORMATS = ["junit", "json", "text"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const DEFAULT_JUNIT_FILE = "test-results/harness-junit.xml";

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export function renderReport(format: ReportFormat, summary: RunSummary): string {
  if (format === "junit") return junitReport(summary);
  if (format === "json") return jsonReport(summary);
  return textReport(summary);
}

/** Writes the report, creating its folder; returns the absolute path. */
export function writeReport(format: ReportFormat, summary: RunSummary, file: string): string {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderReport(format, summary));
  return path;
}

export { jsonReport, junitReport, textReport };
