#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createProgram, exitCodeOf, positiveInteger, runCli } from "@share-broker/channel/cli";
import { type Command, Option } from "commander";
import { UnexpectedAnswerError } from "./clients.js";
import { ConfigError, type HarnessConfig, resolveConfig, SETTINGS } from "./config.js";
import { shellControls } from "./controls.js";
import { formatLoadResult, runLoad } from "./load.js";
import { ProgressBar } from "./progress.js";
import {
  DEFAULT_JUNIT_FILE,
  REPORT_FORMATS,
  type ReportFormat,
  renderReport,
  writeReport,
} from "./reports/index.js";
import { runScenarios, UnknownScenarioError } from "./runner.js";
import { ExpectationFailed } from "./scenario.js";
import { SCENARIOS } from "./scenarios/index.js";

/** The settings every command that talks to the stack takes: one flag per SETTINGS entry. */
interface SettingsOptions {
  devDefaults: boolean;
  [attribute: string]: unknown;
}

/** Adds a flag per setting (the environment variable named in its help) and --no-dev-defaults. */
function withSettings(command: Command): Command {
  for (const setting of SETTINGS) {
    command.option(`--${setting.flag} <${setting.kind}>`, `${setting.help} (${setting.env})`);
  }
  return command
    .option("--no-dev-defaults", "leave unset settings unset instead of taking infra/dev's")
    .addHelpText(
      "after",
      "\nSettings: flags win over the environment; what is unset comes from the development stack\n" +
        "(infra/dev) unless HARNESS_DEV_DEFAULTS=0 or --no-dev-defaults.",
    );
}

function configFrom(command: Command, options: SettingsOptions): HarnessConfig {
  const flags: Record<string, string | undefined> = {};
  for (const setting of SETTINGS) {
    const option = command.options.find((candidate) => candidate.long === `--${setting.flag}`);
    const value = option ? options[option.attributeName()] : undefined;
    flags[setting.flag] = typeof value === "string" ? value : undefined;
  }
  return resolveConfig({ flags, ...(options.devDefaults ? {} : { devDefaults: false }) });
}

function describeTarget(config: HarnessConfig): string {
  const sandbox = config.sandboxUrl ? `, sandbox ${config.sandboxUrl}` : "";
  return `partner-a ${config.partnerAUrl}, partner-b ${config.partnerBUrl}${sandbox}`;
}

const MARK = { passed: "pass", failed: "FAIL", skipped: "skip" } as const;

interface RunOptions extends SettingsOptions {
  /** One of REPORT_FORMATS: commander checked the choice. */
  report: ReportFormat;
  out?: string;
  stopPartnerBCmd?: string;
  startPartnerBCmd?: string;
}

async function runCommand(names: string[], options: RunOptions, command: Command): Promise<number> {
  const format = options.report;
  const out = options.out ?? (format === "junit" ? DEFAULT_JUNIT_FILE : undefined);
  // The report owns stdout when it goes there; progress and the table then go to stderr.
  const human = out === undefined ? process.stderr : process.stdout;
  const config = configFrom(command, options);
  const controls = shellControls({
    stop: options.stopPartnerBCmd ?? process.env.HARNESS_STOP_PARTNER_B_CMD,
    start: options.startPartnerBCmd ?? process.env.HARNESS_START_PARTNER_B_CMD,
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

interface LoadOptions extends SettingsOptions {
  shares: number;
  concurrency: number;
  shareTimeout: number;
  out?: string;
}

async function loadCommand(options: LoadOptions, command: Command): Promise<number> {
  const { shares, concurrency } = options;
  const shareTimeoutSeconds = options.shareTimeout;
  const config = configFrom(command, options);
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
  const out = options.out;
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

function harnessProgram(): Command {
  const program = createProgram(
    "pnpm harness",
    "share-broker integration harness: partner scenarios and load against a running stack.",
  ).addHelpText(
    "after",
    "\nExit status: 0 nothing failed (skips allowed); 1 a scenario failed, or a load share was not\n" +
      "imported; 2 usage or configuration error.",
  );
  withSettings(
    program
      .command("run")
      .summary("run the scenarios (all, or those named) against a running stack")
      .description(
        "Runs every scenario (or those named) one at a time against a running stack; prints a table and " +
          `writes the report: junit to ${DEFAULT_JUNIT_FILE} by default, json and text to stdout unless ` +
          "--out. Scenarios whose prerequisites are not configured are skipped with the reason.",
      )
      .argument("[scenario...]", "scenario names (pnpm harness list); all when none")
      .addOption(new Option("--report <format>", "report format").choices(REPORT_FORMATS).default("junit"))
      .option("--out <file>", "write the report to this file")
      .option(
        "--stop-partner-b-cmd <command>",
        "shell command that stops partner-b, for partner-b-backlog and token-expired-in-transit (HARNESS_STOP_PARTNER_B_CMD)",
      )
      .option(
        "--start-partner-b-cmd <command>",
        "shell command that starts partner-b again (HARNESS_START_PARTNER_B_CMD)",
      ),
  ).action(exitCodeOf(runCommand));
  withSettings(
    program
      .command("load")
      .summary("offer shares under load and report throughput and share→import latency")
      .description(
        "Offers --shares shares through partner-a, --concurrency in flight, and waits for each to be " +
          "imported at partner-b; prints throughput and share→import latency percentiles.",
      )
      .option("--shares <n>", "shares to offer", positiveInteger, 100)
      .option("--concurrency <n>", "shares in flight", positiveInteger, 10)
      .option("--share-timeout <seconds>", "seconds a share may take to be imported", positiveInteger, 120)
      .option("--out <file.json>", "also write the result as JSON"),
  ).action(exitCodeOf(loadCommand));
  program
    .command("list")
    .summary("list the scenarios and what each needs")
    .description("Lists the scenarios, each with its expectation and the settings it needs.")
    .action(exitCodeOf(listCommand));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await runCli(harnessProgram(), argv);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UnknownScenarioError) {
      process.stderr.write(`harness: ${error.message}\n`);
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
