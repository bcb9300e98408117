import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  freshDatabaseUrl,
  runToExit,
  testRedisUrl,
  uniqueQueuePrefix,
} from "@share-broker/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/services.js";

const keysDirs: string[] = [];
afterAll(() => {
  for (const dir of keysDirs) rmSync(dir, { recursive: true, force: true });
});

interface StackRun {
  code: number | null;
  lines: string[];
  stderr: string;
}

/**
 * The stack command as the README runs it (scripts/up.sh ends in the same `scripts/stack.ts`), from
 * source so no build is needed, without a terminal, on ports and databases of its own.
 */
async function runStack(env: Record<string, string>, args: string[], timeoutMs = 150_000): Promise<StackRun> {
  const { code, stdout, stderr } = await runToExit(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "scripts/stack.ts", ...args],
    { cwd: REPO_ROOT, env: { STACK_FROM_SOURCE: "1", ...env }, timeoutMs, killSignal: "SIGINT" },
  );
  return { code, lines: stdout.split("\n"), stderr };
}

async function isolatedEnv(): Promise<{ env: Record<string, string>; databases: { a: string; b: string } }> {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const keysDir = mkdtempSync(join(tmpdir(), "share-broker-stack-keys-"));
  keysDirs.push(keysDir);
  const databases = { a: freshDatabaseUrl(), b: freshDatabaseUrl() };
  return {
    databases,
    env: {
      STACK_PORTS: ports.join(","),
      STACK_PARTNER_A_DATABASE_URL: databases.a,
      STACK_PARTNER_B_DATABASE_URL: databases.b,
      STACK_KEYS_DIR: keysDir,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: `{${uniqueQueuePrefix("stack")}}`,
      LOG_LEVEL: "info",
    },
  };
}

async function queryOne(url: string, sql: string, params: unknown[]): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows[0] ?? {};
  } finally {
    await client.end();
  }
}

const failureReport = (run: StackRun) => `exit ${run.code}\n${run.lines.join("\n")}\n${run.stderr}`;

describe("the stack command, headless", () => {
  it("migrates fresh databases, starts everything, runs the demo share to imported at both sides, and stops", async () => {
    const { env, databases } = await isolatedEnv();
    const run = await runStack(env, ["--exit-after-demo"]);
    const output = run.lines.join("\n");
    expect(run.code, failureReport(run)).toBe(0);

    // Every line says who wrote it; without a terminal there is no colour.
    expect(output).not.toContain("\x1b[");
    const labelled = run.lines.filter(Boolean);
    expect(
      labelled.every((line) => /^(didit-sandbox|partner-a|partner-b|console|stack|demo) +\|/.test(line)),
    ).toBe(true);
    for (const service of ["didit-sandbox", "partner-a", "partner-b", "console"]) {
      expect(output).toMatch(
        new RegExp(`^${service} +\\| \\d\\d:\\d\\d:\\d\\d\\.\\d{3} info  Server listening`, "m"),
      );
    }
    expect(output).toMatch(/^partner-a +\| partner-a: database migrated/m);

    // The steps, in order, with what each side says at the end.
    const steps = [
      /\[1\/7\] verification session created at Didit: \S+/,
      /hosted page: http:\/\/127\.0\.0\.1:\d+\/session\/\S+/,
      /\[2\/7\] the user finished the hosted page: Approved/,
      /partner-a received Didit's signed webhook/,
      /partner-b issued a link code for its customer (demo-customer-\S+) \(link request \S+, until \S+\)/,
      /\[3\/7\] consent recorded: \S+/,
      /\[4\/7\] share accepted: \S+/,
      /\[5\/7\] minted: .*token id [0-9a-f]{16}/,
      /sent: sealed offer on partner-b's inbox queue/,
      /\[6\/7\] at partner-b: import \S+ is imported; its Didit session \S+ is Approved for its customer demo-customer-\S+ \(policy dev-1, trust_review true\)/,
      /\[7\/7\] at partner-a: share \S+ is imported; partner-b reported import imported, Didit status Approved/,
      /demo share imported at both sides/,
    ];
    const demoLines = run.lines.filter((line) => line.startsWith("demo "));
    let from = 0;
    for (const step of steps) {
      const at = demoLines.findIndex((line, index) => index >= from && step.test(line));
      expect(at, `${step} after line ${from} of:\n${demoLines.join("\n")}`).toBeGreaterThanOrEqual(0);
      from = at + 1;
    }
    expect(output).toMatch(/console +http:\/\/127\.0\.0\.1:\d+\/\?share=/);

    // What the partners' databases say, beyond what was printed.
    const shareId = /\[4\/7\] share accepted: (\S+)/.exec(output)?.[1] as string;
    expect(
      await queryOne(databases.a, "select status, import_status from shares where share_id = $1", [shareId]),
    ).toEqual({ status: "imported", import_status: "imported" });
    expect(await queryOne(databases.b, "select status from imports where share_id = $1", [shareId])).toEqual({
      status: "imported",
    });

    // Ctrl-C's path: every service shut down cleanly.
    expect(output).toMatch(/^stack +\| stopped$/m);
    for (const service of ["didit-sandbox", "partner-a", "partner-b", "console"]) {
      expect(output).toMatch(new RegExp(`^${service} +\\| .*shutdown complete clean=true`, "m"));
    }
  }, 180_000);

  it("stops at once, saying which, when one of its ports is taken", async () => {
    const { env } = await isolatedEnv();
    const taken = Number(env.STACK_PORTS?.split(",")[1]);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(taken, "127.0.0.1", resolve));
    try {
      const run = await runStack(env, ["--exit-after-demo"], 60_000);
      expect(run.code, failureReport(run)).toBe(1);
      expect(run.lines.join("\n")).toContain(`port ${taken} (partner-b) is already in use`);
    } finally {
      server.close();
    }
  }, 90_000);
});
