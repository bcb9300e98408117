import { UnexpectedAnswerError } from "./clients.js";
import { type HarnessConfig, redact, secretsOf, validateConfig } from "./config.js";
import { StackUnderTest } from "./context.js";
import { hasPartnerBControl, type PartnerBControls } from "./controls.js";
import {
  ExpectationFailed,
  type Requirement,
  type Scenario,
  type ScenarioResult,
  ScenarioSkipped,
} from "./scenario.js";
import { SCENARIOS } from "./scenarios/index.js";

export interface RunOptions {
  /** Names of the scenarios to run; all when empty. They run in catalogue order whatever the order given. */
  scenarios?: readonly string[];
  /** Stops and starts partner-b; the scenarios that need it are skipped without. */
  controls?: PartnerBControls;
  /** Told as each scenario starts and ends (the CLI prints a line per scenario). */
  onEvent?: (event: RunEvent) => void;
  /** Replaces the catalogue (tests of the runner itself). */
  catalogue?: readonly Scenario[];
}

export type RunEvent =
  | { type: "start"; scenario: Scenario; index: number; total: number }
  | { type: "end"; result: ScenarioResult; index: number; total: number };

export interface RunSummary {
  startedAt: string;
  durationMs: number;
  results: ScenarioResult[];
  counts: { total: number; passed: number; failed: number; skipped: number };
  /** True when no scenario failed (skips do not count against it). */
  ok: boolean;
}

export class UnknownScenarioError extends Error {
  override name = "UnknownScenarioError";
}

/** The scenarios named (all when none), in catalogue order, clock-moving ones last. */
export function selectScenarios(names: readonly string[] = [], catalogue = SCENARIOS): Scenario[] {
  const unknown = names.filter((name) => !catalogue.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    throw new UnknownScenarioError(
      `unknown scenario ${unknown.join(", ")}; known: ${catalogue.map((scenario) => scenario.name).join(", ")}`,
    );
  }
  const chosen =
    names.length === 0 ? [...catalogue] : catalogue.filter((scenario) => names.includes(scenario.name));
  return [...chosen.filter((s) => !s.movesSandboxClock), ...chosen.filter((s) => s.movesSandboxClock)];
}

/** Why a scenario cannot run with this configuration, or undefined when it can. */
export function missingRequirement(
  requirement: Requirement,
  config: HarnessConfig,
  controls: PartnerBControls,
): string | undefined {
  switch (requirement) {
    case "sandbox":
      return config.sandboxUrl && config.sandboxControlKey
        ? undefined
        : "needs the sandbox control API: set SANDBOX_URL and SANDBOX_CONTROL_KEY";
    case "channel":
      return config.redisUrl ? undefined : "needs the channel's Redis: set REDIS_URL (and QUEUE_PREFIX)";
    case "act-as-partner-a":
      return config.partnerAKeysDir && config.partnersFile
        ? undefined
        : "needs partner A's envelope keys: set PARTNER_A_KEYS_DIR and PARTNERS_FILE";
    case "partner-a-didit":
      return config.partnerADiditKey && config.diditBaseUrl
        ? undefined
        : "needs partner A's Didit application key: set SANDBOX_PARTNER_A_DIDIT_KEY";
    case "third-application":
      return config.thirdApplicationId
        ? undefined
        : "needs a third Didit application (neither A's nor B's): set THIRD_APPLICATION_ID";
    case "partner-b-control":
      return hasPartnerBControl(controls)
        ? undefined
        : "needs a way to stop and start partner-b: --stop-partner-b-cmd and --start-partner-b-cmd";
  }
}

function messageOf(error: unknown): string {
  if (
    error instanceof ExpectationFailed ||
    error instanceof ScenarioSkipped ||
    error instanceof UnexpectedAnswerError
  ) {
    return error.message;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Runs scenarios one at a time against the configured stack (the sandbox's faults and clock are
 * global, so they cannot overlap) and reports each as passed, failed or skipped. Never throws for
 * a scenario's failure; throws ConfigError or UnknownScenarioError before running anything.
 */
export async function runScenarios(config: HarnessConfig, options: RunOptions = {}): Promise<RunSummary> {
  const checked = validateConfig(config);
  const scenarios = selectScenarios(options.scenarios, options.catalogue);
  const controls = options.controls ?? {};
  const secrets = secretsOf(checked);
  const stack = new StackUnderTest(checked, controls);
  const startedAt = new Date();
  const results: ScenarioResult[] = [];
  try {
    for (const [index, scenario] of scenarios.entries()) {
      options.onEvent?.({ type: "start", scenario, index, total: scenarios.length });
      const result = await runOne(stack, scenario, index, controls);
      const scrubbed = { ...result, detail: redact(result.detail, secrets) };
      results.push(scrubbed);
      options.onEvent?.({ type: "end", result: scrubbed, index, total: scenarios.length });
    }
  } finally {
    await stack.close();
  }
  const count = (status: ScenarioResult["status"]) =>
    results.filter((result) => result.status === status).length;
  const counts = {
    total: results.length,
    passed: count("passed"),
    failed: count("failed"),
    skipped: count("skipped"),
  };
  return {
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    results,
    counts,
    ok: counts.failed === 0,
  };
}

async function runOne(
  stack: StackUnderTest,
  scenario: Scenario,
  index: number,
  controls: PartnerBControls,
): Promise<ScenarioResult> {
  const started = Date.now();
  const base = { name: scenario.name, expectation: scenario.expectation };
  const missing = scenario.requires
    .map((requirement) => missingRequirement(requirement, stack.config, controls))
    .find((reason) => reason !== undefined);
  if (missing) return { ...base, status: "skipped", durationMs: 0, detail: missing };

  const controller = new AbortController();
  const notes: string[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  let step = "starting";
  const ctx = stack.contextFor(`s${String(index + 1).padStart(2, "0")}`, {
    signal: controller.signal,
    step: (description) => {
      step = description;
    },
    note: (text) => notes.push(text),
    defer: (cleanup) => cleanups.push(cleanup),
  });

  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new ExpectationFailed(`exceeded its ${scenario.budgetSeconds} s budget while ${step}`));
    }, scenario.budgetSeconds * 1000);
  });
  const running = scenario.run(ctx);
  running.catch(() => undefined); // a scenario still running past its budget must not crash the process
  let status: ScenarioResult["status"] = "passed";
  let detail = "";
  try {
    await Promise.race([running, budget]);
  } catch (error) {
    status = error instanceof ScenarioSkipped ? "skipped" : "failed";
    detail = messageOf(error);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      // A scenario that cannot put the stack back (faults, clock, partner-b) would poison the next ones.
      status = "failed";
      detail = [detail, `cleanup failed: ${messageOf(error)}`].filter(Boolean).join("; ");
    }
  }
  if (status === "passed") detail = notes.join("; ") || "as expected";
  return { ...base, status, durationMs: Date.now() - started, detail };
}
