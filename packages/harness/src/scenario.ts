import type { ChannelTools } from "./channel-tools.js";
import type { PartnerAClient, PartnerBClient, SandboxControlClient } from "./clients.js";
import type { HarnessConfig } from "./config.js";
import type { PartnerBSwitch } from "./controls.js";
import type { DiditAccess } from "./didit-access.js";

/** What a scenario needs beyond the two partners' APIs; a scenario missing one is skipped. */
export type Requirement =
  | "sandbox"
  | "channel"
  | "act-as-partner-a"
  | "partner-a-didit"
  | "third-application"
  | "partner-b-control";

export interface Scenario {
  /** kebab-case id, as given on the command line and written in reports. */
  name: string;
  /** What must hold, in one line: the scenario passes exactly when it does. */
  expectation: string;
  requires: readonly Requirement[];
  /** Wall-clock budget; past it the scenario fails saying which step it was on. */
  budgetSeconds: number;
  /** Moves the sandbox clock: run after every other scenario (later webhooks would look stale). */
  movesSandboxClock?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioContext {
  readonly config: HarnessConfig;
  readonly a: PartnerAClient;
  readonly b: PartnerBClient;
  /** Present whenever the scenario requires "sandbox". */
  readonly sandbox: SandboxControlClient;
  readonly didit: DiditAccess;
  readonly channel: ChannelTools;
  /** Stops and starts partner-b; present whenever the scenario requires "partner-b-control". */
  readonly partnerB: PartnerBSwitch;
  readonly signal: AbortSignal;
  /** A value unique to this run and scenario, for user ids and partner-b user refs. */
  uniqueId(label: string): string;
  /** Names the current step, for the message when the budget runs out. */
  step(description: string): void;
  /** Adds an observation to the scenario's report line. */
  note(text: string): void;
  /** Runs after the scenario, pass or fail, last registered first (faults, the clock, partner-b). */
  defer(cleanup: () => Promise<unknown>): void;
}

export type ScenarioStatus = "passed" | "failed" | "skipped";

export interface ScenarioResult {
  name: string;
  expectation: string;
  status: ScenarioStatus;
  durationMs: number;
  /** Failure message, skip reason, or what was observed. */
  detail: string;
}

/** An expectation that did not hold. */
export class ExpectationFailed extends Error {
  override name = "ExpectationFailed";
}

/** A prerequisite found missing at run time (e.g. no policy rule to exercise): reported as skipped. */
export class ScenarioSkipped extends Error {
  override name = "ScenarioSkipped";
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ExpectationFailed(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new ExpectationFailed(
      `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface PollOptions {
  timeoutMs: number;
  /** What is awaited, for the failure message ("share … reaching imported"). */
  what: string;
  signal?: AbortSignal;
  /** Describes the last state seen, for the failure message. */
  lastSeen?: () => string | undefined;
}

/**
 * Polls `probe` until it returns a value (not undefined): every 100 ms at first, slowing to 500 ms,
 * so waiting stays cheap for the stack. An ExpectationFailed from the probe ends the wait at once
 * (e.g. a share that reached another terminal state); other errors are retried until the deadline.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let interval = 100;
  let lastError: unknown;
  for (;;) {
    if (options.signal?.aborted) throw new ExpectationFailed(`stopped while waiting for ${options.what}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      if (error instanceof ExpectationFailed || error instanceof ScenarioSkipped) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), options.signal);
    interval = Math.min(500, Math.round(interval * 1.5));
  }
  const seen = options.lastSeen?.();
  const cause = lastError ? `: ${(lastError as Error).message ?? String(lastError)}` : "";
  throw new ExpectationFailed(
    `${options.what} did not happen within ${(options.timeoutMs / 1000).toFixed(0)} s${seen ? ` (last seen: ${seen})` : ""}${cause}`,
  );
}
