import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HarnessConfig, runScenarios, SCENARIOS, writeReport } from "@share-broker/harness";
import { type ServiceProcess, testRedisUrl } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL_SECRETS,
  API_KEYS,
  apps,
  CONTROL_KEY,
  createWorld,
  type PartnerProcess,
  REPO_ROOT,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

// Short result polling and import backoff keep the Didit-fault scenarios quick.
const PARTNER_B_ENV = { RESULT_POLL_MS: "100", IMPORT_RETRY_BASE_MS: "500" };

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let partnerB: PartnerProcess;
let config: HarnessConfig;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a", { env: { REDRIVE_AFTER_SECONDS: "2" } });
  partnerB = await startWorldPartner(world, "partner-b", { env: PARTNER_B_ENV });
  config = {
    partnerAUrl: partnerA.url,
    partnerAApiKey: API_KEYS["partner-a"],
    partnerAId: "partner-a",
    partnerBUrl: partnerB.url,
    partnerBApiKey: API_KEYS["partner-b"],
    partnerBId: "partner-b",
    sandboxUrl: sandbox.url,
    sandboxControlKey: CONTROL_KEY,
    partnerADiditKey: apps["partner-a"].apiKey,
    partnerBDiditKey: apps["partner-b"].apiKey,
    thirdApplicationId: apps["partner-c"].id,
    redisUrl: testRedisUrl(),
    queuePrefix: world.prefix,
    partnersFile: world.partnersFile,
    partnerAKeysDir: world.keysDir("partner-a"),
  };
});
afterAll(async () => {
  await partnerB?.stop();
  await partnerA?.stop();
  await sandbox?.stop();
});

/** Stops and starts partner-b's child process, on the same database, as the scenarios ask. */
const controls = {
  stopPartnerB: async () => {
    await partnerB.stop();
  },
  startPartnerB: async () => {
    partnerB = await startWorldPartner(world, "partner-b", {
      databaseUrl: partnerB.databaseUrl,
      env: PARTNER_B_ENV,
    });
  },
};

/** The same configuration as the CLI reads it from the environment (development defaults off). */
function cliEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("VITEST") && key !== "TEST") env[key] = value;
  }
  return {
    ...env,
    HARNESS_DEV_DEFAULTS: "0",
    PARTNER_A_URL: config.partnerAUrl,
    PARTNER_A_API_KEY: config.partnerAApiKey,
    PARTNER_B_URL: config.partnerBUrl,
    PARTNER_B_API_KEY: config.partnerBApiKey,
    SANDBOX_URL: config.sandboxUrl as string,
    SANDBOX_CONTROL_KEY: config.sandboxControlKey as string,
    SANDBOX_PARTNER_A_DIDIT_KEY: config.partnerADiditKey as string,
    SANDBOX_PARTNER_B_DIDIT_KEY: config.partnerBDiditKey as string,
    THIRD_APPLICATION_ID: config.thirdApplicationId as string,
    REDIS_URL: config.redisUrl as string,
    QUEUE_PREFIX: config.queuePrefix,
    PARTNERS_FILE: config.partnersFile as string,
    PARTNER_A_KEYS_DIR: config.partnerAKeysDir as string,
    ...overrides,
  };
}

/** `pnpm harness …` as a real child process, as CI runs it. */
function harnessCli(args: string[], env = cliEnvironment()) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn("pnpm", ["--silent", "harness", ...args], { cwd: REPO_ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** An HTTP endpoint the CLI's shell commands call to stop and start partner-b (`POST /stop`, `POST /start`). */
async function partnerBControlServer() {
  const server = createServer((request, response) => {
    const action =
      request.url === "/stop"
        ? controls.stopPartnerB
        : request.url === "/start"
          ? controls.startPartnerB
          : undefined;
    if (!action) return void response.writeHead(404).end();
    action().then(
      () => response.writeHead(204).end(),
      (error) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const command = (path: string) =>
    `node -e "fetch('${url}${path}', { method: 'POST' }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"`;
  return {
    stopCommand: command("/stop"),
    startCommand: command("/start"),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function expectNoSecrets(text: string): void {
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
}

describe("the integration harness against a stack started here", () => {
  it("runs every scenario: all pass, and the JUnit report lists each one", async () => {
    const summary = await runScenarios(config, { controls });
    const file = writeReport("junit", summary, join(REPO_ROOT, "test-results", "harness-junit.xml"));
    const notPassed = summary.results.filter((result) => result.status !== "passed");
    expect(notPassed, JSON.stringify(notPassed, null, 2)).toEqual([]);
    expect(summary.results.map((result) => result.name)).toEqual(SCENARIOS.map((scenario) => scenario.name));
    expect(summary.ok).toBe(true);

    const xml = readFileSync(file, "utf8");
    expect(xml).toContain(`tests="${SCENARIOS.length}" failures="0" errors="0" skipped="0"`);
    for (const scenario of SCENARIOS) {
      expect(xml).toContain(`<testcase classname="harness" name="${scenario.name}"`);
    }
    expect(xml).not.toContain("<failure");
    expect(xml).not.toContain("<skipped");
    expectNoSecrets(xml);
    // The clock-moving scenario put the sandbox clock back.
    const clock = await fetch(`${sandbox.url}/sandbox/clock`, {
      headers: { authorization: `Bearer ${CONTROL_KEY}` },
    });
    expect(((await clock.json()) as { offset_seconds: number }).offset_seconds).toBe(0);
  }, 240_000);

  it("skips, with the setting to add, scenarios whose prerequisites are not configured", async () => {
    const summary = await runScenarios(
      { ...config, redisUrl: undefined, thirdApplicationId: undefined },
      { scenarios: ["replayed-envelope", "token-for-another-application", "partner-b-backlog"] },
    );
    expect(summary.results.map((result) => [result.name, result.status])).toEqual([
      ["replayed-envelope", "skipped"],
      ["token-for-another-application", "skipped"],
      ["partner-b-backlog", "skipped"],
    ]);
    expect(summary.results[0]?.detail).toContain("REDIS_URL");
    expect(summary.results[1]?.detail).toContain("REDIS_URL");
    expect(summary.results[2]?.detail).toContain("--stop-partner-b-cmd");
    expect(summary.ok).toBe(true);
  });

  it("`pnpm harness run happy-path-trust --report json` exits 0 and prints the JSON report", async () => {
    const run = await harnessCli(["run", "happy-path-trust", "--report", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual({ total: 1, passed: 1, failed: 0, skipped: 0 });
    expect(report.scenarios).toEqual([
      expect.objectContaining({
        name: "happy-path-trust",
        status: "passed",
        expectation: expect.any(String),
      }),
    ]);
    expect(run.stderr).toMatch(/happy-path-trust\s+pass/);
    expectNoSecrets(run.stdout + run.stderr);
  }, 60_000);

  it("`pnpm harness load --shares 20 --concurrency 5` exits 0 with throughput and latency percentiles", async () => {
    const run = await harnessCli(["load", "--shares", "20", "--concurrency", "5"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("shares: 20/20 imported");
    expect(run.stdout).toMatch(/throughput: \d+\.\d+ shares\/s/);
    expect(run.stdout).toMatch(/share→import latency: p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms/);
    expect(run.stderr).toContain("sharing: 20/20 (100%)");
    expectNoSecrets(run.stdout + run.stderr);
    console.log(run.stdout);
  }, 90_000);

  it("stops and starts partner-b through --stop-partner-b-cmd / --start-partner-b-cmd", async () => {
    const control = await partnerBControlServer();
    const out = join(mkdtempSync(join(tmpdir(), "harness-cli-")), "junit.xml");
    try {
      const run = await harnessCli([
        "run",
        "partner-b-backlog",
        "--out",
        out,
        "--stop-partner-b-cmd",
        control.stopCommand,
        "--start-partner-b-cmd",
        control.startCommand,
      ]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/partner-b-backlog\s+pass/);
      const xml = readFileSync(out, "utf8");
      expect(xml).toContain('<testcase classname="harness" name="partner-b-backlog"');
      expect(xml).not.toContain("<failure");
    } finally {
      await control.close();
    }
  }, 90_000);

  it("exits non-zero with a clear message when an expectation fails (partner-a refuses the API key)", async () => {
    const wrongKey = "harness-wrong-partner-a-key-0001";
    const run = await harnessCli(
      ["run", "happy-path-trust", "--report", "json"],
      cliEnvironment({ PARTNER_A_API_KEY: wrongKey }),
    );
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(false);
    const [scenario] = report.scenarios;
    expect(scenario).toMatchObject({ name: "happy-path-trust", status: "failed" });
    expect(scenario.detail).toContain("answered 401 unauthenticated");
    expect(scenario.detail).toContain("check PARTNER_A_API_KEY");
    expect(run.stderr).toMatch(/FAIL\s+happy-path-trust/);
    expect(run.stdout + run.stderr).not.toContain(wrongKey);
  }, 60_000);

  it("exits 2 naming each bad setting, without echoing secrets", async () => {
    const run = await harnessCli(
      ["run", "--report", "text"],
      cliEnvironment({ PARTNER_A_URL: "ftp://nowhere", QUEUE_PREFIX: "no-braces", PARTNER_B_API_KEY: "" }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("PARTNER_A_URL");
    expect(run.stderr).toContain("QUEUE_PREFIX");
    expect(run.stderr).toContain("PARTNER_B_API_KEY is required");
    expectNoSecrets(run.stderr);
  }, 30_000);
});
