import type { RunSummary } from "../runner.js";

// XML 1.0 allows tab, newline and carriage return among the control characters, nothing else.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/**
 * JUnit XML as CI systems read it: one <testcase classname="harness"> per scenario, <failure> for a
 * failed expectation, <skipped> for a scenario whose prerequisites were not configured.
 */
export function junitReport(summary: RunSummary): string {
  const { counts } = summary;
  const totals = `tests="${counts.total}" failures="${counts.failed}" errors="0" skipped="${counts.skipped}" time="${seconds(summary.durationMs)}"`;
  const cases = summary.results.map((result) => {
    const open = `    <testcase classname="harness" name="${escapeXml(result.name)}" time="${seconds(result.durationMs)}"`;
    const out = `      <system-out>${escapeXml(`expectation: ${result.expectation}\n${result.status}: ${result.detail}`)}</system-out>`;
    if (result.status === "failed") {
      const message = escapeXml(result.detail.split("\n")[0] ?? "");
      return `${open}>\n      <failure message="${message}" type="ExpectationFailed">${escapeXml(result.detail)}</failure>\n${out}\n    </testcase>`;
    }
    if (result.status === "skipped") {
      return `${open}>\n      <skipped message="${escapeXml(result.detail)}"/>\n${out}\n    </testcase>`;
    }
    return `${open}>\n${out}\n    </testcase>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="share-broker harness" ${totals}>`,
    `  <testsuite name="harness" ${totals} timestamp="${summary.startedAt}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
