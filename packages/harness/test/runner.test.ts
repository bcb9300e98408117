import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.js";
import { percentile, summarizeLatencies } from "../src/load.js";
import { junitReport } from "../src/reports/junit.js";
import { textReport } from "../src/reports/text.js";
import { runScenarios, selectScenarios, UnknownScenarioError } from "../src/runner.js";
import { ExpectationFailed, type Scenario, ScenarioSkipped } from "../src/scenario.js";
import { SCENARIOS } from "../src/scenarios/index.js";

const config = resolveConfig({
  env: {
    PARTNER_A_URL: "http://127.0.0.1:9",
    PARTNER_A_API_KEY: "secret-key-a-000001",
    PARTNER_B_URL: "http://127.0.0.1:9",
    PARTNER_B_API_KEY: "secret-key-b-000001",
  },
  devDefaults: false,
});

function scenario(name: string, run: Scenario["run"], extra: Partial<Scenario> = {}): Scenario {
  return { name, expectation: `${name} holds`, requires: [], budgetSeconds: 5, run, ...extra };
}

describe("the scenario catalogue", () => {
  it("names every scenario the issue asks for, in kebab-case, clock-moving ones last", () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    // Issue 14's scenarios among them: revocation in transit and first, wrong or reused codes, replays.
    expect(names).toEqual(
      expect.arrayContaining([
        "revoked-in-transit",
        "revoke-before-offer",
        "wrong-link-code",
        "link-code-reused",
        "replayed-result",
      ]),
    );
    expect(names).toHaveLength(20);
    const firstMover = SCENARIOS.findIndex((s) => s.movesSandboxClock);
    expect(SCENARIOS.slice(firstMover).every((s) => s.movesSandboxClock)).toBe(true);
  });

  it("runs named scenarios in catalogue order and refuses unknown names", () => {
    expect(selectScenarios(["token-expired-in-transit", "no-consent"]).map((s) => s.name)).toEqual([
      "no-consent",
      "token-expired-in-transit",
    ]);
    expect(() => selectScenarios(["no-such-scenario"])).toThrow(UnknownScenarioError);
  });
});

describe("runScenarios", () => {
  it("reports passed, failed and skipped scenarios, runs cleanups, and scrubs secrets", async () => {
    const cleaned: string[] = [];
    const catalogue = [
      scenario("passes", async (ctx) => {
        ctx.defer(async () => cleaned.push("passes"));
        ctx.note("observed fine");
      }),
      scenario("fails", async (ctx) => {
        ctx.defer(async () => cleaned.push("fails"));
        throw new ExpectationFailed(`expected x with ${config.partnerAApiKey}`);
      }),
      scenario("skips-at-run-time", async () => {
        throw new ScenarioSkipped("no policy to exercise");
      }),
      scenario("needs-controls", async () => undefined, { requires: ["partner-b-control"] }),
    ];
    const summary = await runScenarios(config, { catalogue });
    expect(summary.results.map((r) => [r.name, r.status, r.detail])).toEqual([
      ["passes", "passed", "observed fine"],
      ["fails", "failed", "expected x with [redacted]"],
      ["skips-at-run-time", "skipped", "no policy to exercise"],
      ["needs-controls", "skipped", expect.stringContaining("--stop-partner-b-cmd")],
    ]);
    expect(cleaned).toEqual(["passes", "fails"]);
    expect(summary.counts).toEqual({ total: 4, passed: 1, failed: 1, skipped: 2 });
    expect(summary.ok).toBe(false);
  });

  it("fails a scenario past its budget, naming the step it was on, and still cleans up", async () => {
    let cleaned = false;
    const slow = scenario(
      "slow",
      async (ctx) => {
        ctx.defer(async () => {
          cleaned = true;
        });
        ctx.step("waiting for something that never comes");
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      },
      { budgetSeconds: 0.2 },
    );
    const summary = await runScenarios(config, { catalogue: [slow] });
    expect(summary.results[0]).toMatchObject({
      status: "failed",
      detail: "exceeded its 0.2 s budget while waiting for something that never comes",
    });
    expect(cleaned).toBe(true);
  });

  it("fails a scenario whose cleanup fails, since the next ones would run on a broken stack", async () => {
    const summary = await runScenarios(config, {
      catalogue: [
        scenario("leaves-a-mess", async (ctx) => {
          ctx.defer(async () => {
            throw new Error("could not remove the fault");
          });
        }),
      ],
    });
    expect(summary.results[0]).toMatchObject({
      status: "failed",
      detail: "cleanup failed: Error: could not remove the fault",
    });
  });
});

describe("reports", () => {
  const summary = {
    startedAt: "2025-01-01T00:00:00.000Z",
    durationMs: 2500,
    ok: false,
    counts: { total: 3, passed: 1, failed: 1, skipped: 1 },
    results: [
      { name: "a", expectation: "a <holds>", status: "passed" as const, durationMs: 1000, detail: "fine" },
      {
        name: "b",
        expectation: "b holds",
        status: "failed" as const,
        durationMs: 1500,
        detail: 'got "x" & <y>',
      },
      {
        name: "c",
        expectation: "c holds",
        status: "skipped" as const,
        durationMs: 0,
        detail: "set REDIS_URL",
      },
    ],
  };

  it("writes JUnit with one testcase per scenario, failure and skipped elements, escaped", () => {
    const xml = junitReport(summary);
    expect(xml).toContain(
      '<testsuites name="share-broker harness" tests="3" failures="1" errors="0" skipped="1"',
    );
    expect(xml).toContain('<testcase classname="harness" name="a" time="1.000">');
    expect(xml).toContain('<failure message="got &quot;x&quot; &amp; &lt;y&gt;" type="ExpectationFailed">');
    expect(xml).toContain('<skipped message="set REDIS_URL"/>');
    expect(xml).toContain("expectation: a &lt;holds&gt;");
  });

  it("prints a table with scenario, result, seconds and detail", () => {
    const lines = textReport(summary).split("\n");
    expect(lines[0]).toMatch(/^scenario\s+result\s+seconds\s+detail$/);
    expect(lines).toContainEqual(expect.stringMatching(/^b\s+FAIL\s+1\.5\s+got "x" & <y>$/));
    expect(lines).toContain("3 scenarios: 1 passed, 1 failed, 1 skipped in 2.5 s");
  });
});

describe("load statistics", () => {
  it("takes nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(summarizeLatencies([30, 10, 20])).toEqual({
      min: 10,
      p50: 20,
      p95: 30,
      p99: 30,
      max: 30,
      mean: 20,
    });
    expect(summarizeLatencies([])).toBeNull();
  });
});
