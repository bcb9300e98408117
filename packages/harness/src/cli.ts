#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { UnexpectedAnswerError } from "./clients.js";
import { ConfigError, type HarnessConfig, resolveConfig, SETTINGS } from "./config.js";
import { shellControls } from "./controls.js";
import { formatLoadResult, runLoad } from "./load.js";
import { ProgressBar } from "./progress.js";
import {
  DEFAULT_JUNIT_FILE,
  isReportFormat,
  REPORT_FORMATS,
  renderReport,
  writeReport,
} from "./reports/index.js";
import { runScenarios, UnknownScenarioError } from "./runner.js";
import { ExpectationFailed } from "./scenario.js";
import { SCENARIOS } from "./scenarios/index.js";

const flagLine = (flag: string, env: string, help: string) =>
  `  --${flag.padEnd(22)} ${env.padEnd(28)} ${help}`;
const settingLines = SETTINGS.map((setting) => flagLine(setting.flag, setting.env, setting.help)).join("\n");

const USAGE = `share-broker integration harness

usage:
  pnpm harness run [scenario…] [--report junit|json|text] [--out <file>] [settings]
  pnpm harness load --shares N --concurrency C [--share-timeout S] [--out <file.json>] [settings]
  pnpm harness list
  pnpm harness help

run: every scenario (or those named) one at a time against a running stack; prints a table and
writes the report: junit to ${DEFAULT_JUNIT_FILE} by default, json and text to stdout unless --out.
Scenarios whose prerequisites are not configured are skipped with the reason.

settings: flags win over the environment; what is unset comes from the development stack
(infra/dev) unless HARNESS_DEV_DEFAULTS=0 or --no-dev-defaults.
${settingLines}

partner-b control (partner-b-backlog, token-expired-in-transit):
${flagLine("stop-partner-b-cmd", "HARNESS_STOP_PARTNER_B_CMD", "shell command that stops partner-b")}
${flagLine("start-partner-b-cmd", "HARNESS_START_PARTNER_B_CMD", "shell command that starts it again")}

exit status: 0 nothing failed (skips allowed); 1 a scenario failed, or a load share was not
imported; 2 usage or configuration error.
`;

class UsageError extends Error {
  override name = "UsageError";
}

function parse(argv: string[]) {
  const options: Record<string, { type: "string" | "boolean" }> = {
    report: { type: "string" },
    out: { type: "string" },
    shares: { type: "string" },
    concurrency: { type: "string" },
    "share-timeout": { type: "string" },
    "stop-partner-b-cmd": { type: "string" },
    "start-partner-b-cmd": { type: "string" },
    "no-dev-defaults": { type: "boolean" },
    help: { type: "boolean" },
  };
  for (const setting of SETTINGS) options[setting.flag] = { type: "string" };
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

type Parsed = ReturnType<typeof parse>;

function stringFlag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

function configFrom(parsed: Parsed): HarnessConfig {
  const flags: Record<string, string | undefined> = {};
  for (const setting of SETTINGS) flags[setting.flag] = stringFlag(parsed, setting.flag);
  return resolveConfig({ flags, ...(parsed.values["no-dev-defaults"] ? { devDefaults: false } : {}) });
}

function integerFlag(parsed: Parsed, name: string, fallback: number): number {
  const raw = stringFlag(parsed, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer`);
  return value;
}

function describeTarget(config: HarnessConfig): string {
  const sandbox = config.sandboxUrl ? `, sandbox ${config.sandboxUrl}` : "";
  return `partner-a ${config.partnerAUrl}, partner-b ${config.partnerBUrl}${sandbox}`;
}

const MARK = { passed: "pass", failed: "FAIL", skipped: "skip" } as const;

async function runCommand(parsed: Parsed, names: string[]): Promise<number> {
  const format = stringFlag(parsed, "report") ?? "junit";
  if (!isReportFormat(format)) throw new UsageError(`--report must be one of ${REPORT_FORMATS.join(", ")}`);
  const out = stringFlag(parsed, "out") ?? (format === "junit" ? DEFAULT_JUNIT_FILE : undefined);
  // The report owns stdout when it goes there; progress and the table then go to stderr.
  const human = out === undefined ? process.stderr : process.stdout;
  const config = configFrom(parsed);
  const controls = shellControls({
    stop: stringFlag(parsed, "stop-partner-b-cmd") ?? process.env.HARNESS_STOP_PARTNER_B_CMD,
    start: stringFlag(parsed, "start-partner-b-cmd") ?? process.env.HARNESS_START_PARTNER_B_CMD,
  });
  human.write(`harness: against ${describeTarget(config)}\n`);
  const summary = await runScenarios(config, {
    scenarios: names,
    controls,
    onEvent: (event) => {
      if (event.type === "end") {
        const { result } = event;
        human.write(
          `  ${MARK[result.status]}  ${result.name} (${(result.durationMs / 1000).toFixed(1)} s)${result.status === "passed" ? "" : `: ${result.detail}`}\n`,
        );
      }
    },
  });
  if (!(format === "text" && out === undefined)) human.write(`\n${renderReport("text", summary)}`);
  if (out === undefined) process.stdout.write(renderReport(format, summary));
  else human.write(`report (${format}): ${writeReport(format, summary, out)}\n`);
  return summary.ok ? 0 : 1;
}

async function loadCommand(parsed: Parsed): Promise<number> {
  const shares = integerFlag(parsed, "shares", 100);
  const concurrency = integerFlag(parsed, "concurrency", 10);
  const shareTimeoutSeconds = integerFlag(parsed, "share-timeout", 120);
  const config = configFrom(parsed);
  process.stdout.write(
    `load: ${shares} shares, ${concurrency} in flight, against ${describeTarget(config)}\n`,
  );
  const bars = { preparing: new ProgressBar("preparing"), sharing: new ProgressBar("sharing") };
  let phase: "preparing" | "sharing" = "preparing";
  const result = await runLoad(config, {
    shares,
    concurrency,
    shareTimeoutSeconds,
    onProgress: (progress) => {
      if (progress.phase !== phase) {
        bars[phase].done();
        phase = progress.phase;
      }
      const rate = progress.elapsedMs > 0 ? (progress.done / progress.elapsedMs) * 1000 : 0;
      const extra =
        progress.phase === "sharing"
          ? `${progress.imported} imported, ${rate.toFixed(1)}/s`
          : `${rate.toFixed(1)}/s`;
      bars[progress.phase].update(progress.done, progress.total, extra);
    },
  });
  bars[phase].done();
  process.stdout.write(formatLoadResult(result));
  const out = stringFlag(parsed, "out");
  if (out) {
    writeFileSync(resolve(out), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`result (json): ${resolve(out)}\n`);
  }
  return result.ok ? 0 : 1;
}

function listCommand(): number {
  for (const scenario of SCENARIOS) {
    const needs = scenario.requires.length ? ` [needs: ${scenario.requires.join(", ")}]` : "";
    process.stdout.write(`${scenario.name}\n  ${scenario.expectation}${needs}\n`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parse(argv);
    const [command, ...rest] = parsed.positionals;
    if (parsed.values.help || command === undefined || command === "help") {
      process.stdout.write(USAGE);
      return command === undefined && !parsed.values.help ? 2 : 0;
    }
    if (command === "run") return await runCommand(parsed, rest);
    if (command === "load") {
      if (rest.length > 0) throw new UsageError(`load takes no arguments (got ${rest.join(" ")})`);
      return await loadCommand(parsed);
    }
    if (command === "list") return listCommand();
    throw new UsageError(`unknown command "${command}" (run, load, list, help)`);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UnknownScenarioError) {
      process.stderr.write(`harness: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`harness: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    const expected = error instanceof UnexpectedAnswerError || error instanceof ExpectationFailed;
    process.stderr.write(
      `harness: ${expected ? error.message : ((error as Error).stack ?? String(error))}\n`,
    );
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Idle keep-alive sockets must not hold the result back; an unref'd timer fires only if something does.
setTimeout(() => process.exit(code), 500).unref();
