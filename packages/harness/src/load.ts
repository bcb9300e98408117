import { isTerminalShareState } from "@share-broker/contracts";
import type { ShareView } from "./clients.js";
import { ConfigError, type HarnessConfig, redact, secretsOf, validateConfig } from "./config.js";
import { StackUnderTest } from "./context.js";
import { acceptedShare, consentFor, scopeWithTrustReview, verifiedUser } from "./flows.js";
import { sleep } from "./scenario.js";

export interface LoadOptions {
  shares: number;
  /** Shares in flight at once (sent and not yet final); also the parallelism of the preparation. */
  concurrency: number;
  /** How long one share may take to become final before it counts as timed out. Default 120. */
  shareTimeoutSeconds?: number;
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  phase: "preparing" | "sharing";
  done: number;
  total: number;
  imported: number;
  elapsedMs: number;
}

export interface LatencySummary {
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  shares: number;
  concurrency: number;
  imported: number;
  /** Final state per share: imported, rejected, failed, …, timed_out, or error (refused or unreachable). */
  outcomes: Record<string, number>;
  preparationSeconds: number;
  /** From the first share accepted to the last one imported, on partner-a's clock. */
  durationSeconds: number;
  throughputPerSecond: number;
  /** Accepted → imported per share, in milliseconds, from partner-a's own timestamps. */
  latencyMs: LatencySummary | null;
  /** A few distinct error messages, for the report. */
  errors: string[];
  ok: boolean;
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarizeLatencies(values: readonly number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  return {
    min: sorted[0] as number,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/** Runs `work` for 0..count-1 with at most `concurrency` at once; stops handing out work after a throw. */
async function inPool(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (failure === undefined && next < count) {
      const index = next;
      next += 1;
      try {
        await work(index);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failure !== undefined) throw failure;
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError([`${name} must be a positive integer`]);
}

/**
 * A load run: prepares one verified user and consent per share (through the sandbox), then sends
 * the shares with `concurrency` in flight, each followed until it is final at partner-a. Latency
 * and throughput come from partner-a's own timestamps (accepted → imported), so polling, kept
 * cheap (200 ms growing to 1 s), does not blur them.
 */
export async function runLoad(config: HarnessConfig, options: LoadOptions): Promise<LoadResult> {
  const checked = validateConfig(config);
  positiveInteger(options.shares, "--shares");
  positiveInteger(options.concurrency, "--concurrency");
  if (!checked.sandboxUrl || !checked.sandboxControlKey) {
    throw new ConfigError([
      "load needs the sandbox control API to verify its users: set SANDBOX_URL and SANDBOX_CONTROL_KEY",
    ]);
  }
  const stack = new StackUnderTest(checked);
  const controller = new AbortController();
  const ctx = stack.contextFor("load", {
    signal: controller.signal,
    step: () => undefined,
    note: () => undefined,
    defer: () => undefined,
  });
  const total = options.shares;
  const errors = new Set<string>();
  const secrets = secretsOf(checked);
  try {
    const scope = await scopeWithTrustReview(ctx, true);
    const prepareStarted = Date.now();
    const consents: string[] = [];
    let prepared = 0;
    await inPool(total, options.concurrency, async (index) => {
      const user = await verifiedUser(ctx);
      consents[index] = await consentFor(ctx, user.userId, scope);
      prepared += 1;
      options.onProgress?.({
        phase: "preparing",
        done: prepared,
        total,
        imported: 0,
        elapsedMs: Date.now() - prepareStarted,
      });
    });
    const preparationSeconds = (Date.now() - prepareStarted) / 1000;

    const finals: ShareView[] = [];
    const outcomes: Record<string, number> = {};
    const count = (outcome: string) => {
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    };
    const sharingStarted = Date.now();
    const deadlineMs = (options.shareTimeoutSeconds ?? 120) * 1000;
    let finished = 0;
    const report = () =>
      options.onProgress?.({
        phase: "sharing",
        done: finished,
        total,
        imported: outcomes.imported ?? 0,
        elapsedMs: Date.now() - sharingStarted,
      });
    await inPool(total, options.concurrency, async (index) => {
      try {
        const shareId = await acceptedShare(ctx, consents[index] as string);
        const final = await followShare(stack, shareId, deadlineMs);
        if (final) {
          finals.push(final);
          count(final.status);
        } else {
          count("timed_out");
          errors.add(`share ${shareId} not final within ${deadlineMs / 1000} s`);
        }
      } catch (error) {
        count("error");
        errors.add(redact((error as Error).message, secrets));
      }
      finished += 1;
      report();
    });

    const imported = finals.filter((share) => share.status === "imported");
    const latencies = imported.map((share) => Date.parse(share.updated_at) - Date.parse(share.created_at));
    const firstAccepted = Math.min(...finals.map((share) => Date.parse(share.created_at)));
    const lastImported = Math.max(...imported.map((share) => Date.parse(share.updated_at)));
    const durationSeconds = imported.length > 0 ? Math.max(0.001, (lastImported - firstAccepted) / 1000) : 0;
    return {
      shares: total,
      concurrency: options.concurrency,
      imported: imported.length,
      outcomes,
      preparationSeconds,
      durationSeconds,
      throughputPerSecond: durationSeconds > 0 ? imported.length / durationSeconds : 0,
      latencyMs: summarizeLatencies(latencies),
      errors: [...errors].slice(0, 5),
      ok: imported.length === total,
    };
  } finally {
    controller.abort();
    await stack.close();
  }
}

async function followShare(
  stack: StackUnderTest,
  shareId: string,
  deadlineMs: number,
): Promise<ShareView | undefined> {
  const deadline = Date.now() + deadlineMs;
  let delay = 200;
  while (Date.now() < deadline) {
    await sleep(delay);
    const share = await stack.a.share(shareId);
    if (isTerminalShareState(share.status)) return share;
    delay = Math.min(1_000, Math.round(delay * 1.5));
  }
  return undefined;
}

/** The human summary the CLI prints. */
export function formatLoadResult(result: LoadResult): string {
  const ms = (value: number) => `${Math.round(value)} ms`;
  const others = Object.entries(result.outcomes)
    .filter(([outcome]) => outcome !== "imported")
    .map(([outcome, n]) => `${n} ${outcome}`);
  const lines = [
    `shares: ${result.imported}/${result.shares} imported${others.length ? ` (${others.join(", ")})` : ""}, concurrency ${result.concurrency}`,
    `preparation: ${result.shares} verified users with consents in ${result.preparationSeconds.toFixed(1)} s`,
    `throughput: ${result.throughputPerSecond.toFixed(2)} shares/s (first accept to last import: ${result.durationSeconds.toFixed(2)} s)`,
  ];
  const latency = result.latencyMs;
  lines.push(
    latency
      ? `share→import latency: p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} (min ${ms(latency.min)}, mean ${ms(latency.mean)})`
      : "share→import latency: no share was imported",
  );
  for (const error of result.errors) lines.push(`error: ${error}`);
  return `${lines.join("\n")}\n`;
}
