import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CommandRun, runToExit } from "@share-broker/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/services.js";

// The README's Commands table is the list of our commands: each one of ours is run here as a real
// child process, with --help and with a flag that does not exist, and its row must name exactly the
// flags its help lists. The convention itself lives in packages/channel/src/cli.ts.

/** Commands the table lists that are other tools behind a package script: their flags are theirs. */
const NOT_OURS: Record<string, string> = {
  "pnpm build": "turbo run build",
  "pnpm typecheck": "turbo run typecheck and tsc",
  "pnpm lint": "biome check",
  "pnpm db:migrate": "pnpm -r run db:migrate: each service's migrate script, configured by its environment",
  "pnpm --filter @share-broker/<service> start":
    "node dist/server.js: a service, configured by its environment",
  "pnpm --filter @share-broker/<service> dev": "tsx watch",
  "pnpm --filter @share-broker/partner-a db:generate": "drizzle-kit generate",
};
const OURS = /^(pnpm (harness|keys|bench|stack)|bash scripts\/(up|test)\.sh)( [a-z]+)*$/;
const BOGUS = "--bogus-flag";
/** Each child starts node with tsx; a slow, busy machine still answers well within this. */
const CHILD_TIMEOUT_MS = 45_000;
const PARALLEL = 4;

interface Row {
  commands: string[];
  flags: string[];
}

function commandsTable(): Row[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Commands\n") + 1);
  const lines = section.split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const end = lines.findIndex((line, index) => index > first && !line.startsWith("|"));
  const [header, , ...rows] = lines.slice(first, end);
  if (header !== "| command | flags | what it does |") {
    throw new Error(`README.md: the Commands table's header changed: ${header}`);
  }
  return rows.map((line) => {
    const [command = "", flags = ""] = line.split("|").slice(1, -1);
    return {
      commands: [...command.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? ""),
      flags: flagsIn(flags),
    };
  });
}

function flagsIn(text: string): string[] {
  return [...new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? [])].sort();
}

/** The long options a help text lists under "Options:", but --help. */
function helpFlags(help: string): string[] {
  const options = help.slice(help.indexOf("\nOptions:\n"));
  const block = options.slice(0, options.indexOf("\n\n", 1) + 1 || undefined);
  const flags = [...block.matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)/gm)].map(
    (match) => match[1] ?? "",
  );
  return flags.filter((flag) => flag !== "--help").sort();
}

/** `pnpm harness run` → pnpm --silent harness run (no banner, no ELIFECYCLE line of pnpm's own). */
function runCommand(command: string, args: string[]): Promise<CommandRun> {
  const [program = "", ...rest] = command.split(" ");
  const argv = [...(program === "pnpm" ? ["--silent"] : []), ...rest, ...args];
  return runToExit(program, argv, { cwd: REPO_ROOT, env: { NO_COLOR: "1" }, timeoutMs: CHILD_TIMEOUT_MS });
}

/** Runs the jobs PARALLEL at a time: enough to overlap tsx's start-up, not to swamp two cores. */
async function inParallel<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await (jobs[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return results;
}

const rows = commandsTable();
const ours = rows.flatMap((row) => row.commands.filter((command) => !(command in NOT_OURS)));
const documented = new Map(
  rows.flatMap((row) => row.commands.map((command) => [command, row.flags] as const)),
);
const parentOf = (command: string) => command.split(" ").slice(0, -1).join(" ");
const childrenOf = (command: string) => ours.filter((other) => parentOf(other) === command);

const help = new Map<string, CommandRun>();
const bogus = new Map<string, CommandRun>();

beforeAll(async () => {
  const runs = await inParallel(
    ours.flatMap((command) => [
      async () => help.set(command, await runCommand(command, ["--help"])),
      async () => bogus.set(command, await runCommand(command, [BOGUS])),
    ]),
  );
  expect(runs).toHaveLength(ours.length * 2);
}, 180_000);

describe("the README's Commands table", () => {
  it("lists only commands of ours, or tools behind a package script said to be excluded", () => {
    for (const command of ours) expect(command).toMatch(OURS);
    // Every CLI and every subcommand is in it.
    expect(ours).toEqual(
      expect.arrayContaining([
        "bash scripts/up.sh",
        "bash scripts/test.sh",
        "pnpm stack",
        "pnpm bench",
        "pnpm harness",
        "pnpm harness run",
        "pnpm harness load",
        "pnpm harness list",
        "pnpm keys",
        "pnpm keys generate",
        "pnpm keys public",
      ]),
    );
  });

  it("gives up.sh exactly the flags of pnpm stack, which it hands on", () => {
    expect(helpFlags(help.get("bash scripts/up.sh")?.stdout ?? "")).toEqual(
      helpFlags(help.get("pnpm stack")?.stdout ?? ""),
    );
  });
});

describe.each(ours)("`%s`", (command) => {
  it("answers --help: usage naming the command on stdout, exit 0, nothing started", () => {
    const run = help.get(command) as CommandRun;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.startsWith(`Usage: ${command} `)).toBe(true);
    expect(run.stderr).toBe("");
  });

  it("is documented with exactly the flags its help lists (a subcommand's may be on its parent's row)", () => {
    const listed = helpFlags((help.get(command) as CommandRun).stdout);
    const inRow = documented.get(command) ?? [];
    const onParent = documented.get(parentOf(command)) ?? [];
    for (const flag of listed) expect([...inRow, ...onParent], `${flag} of ${command}`).toContain(flag);
    const ownOrChildren = [
      ...listed,
      ...childrenOf(command).flatMap((child) => helpFlags((help.get(child) as CommandRun).stdout)),
    ];
    for (const flag of inRow) expect(ownOrChildren, `README's ${flag} for ${command}`).toContain(flag);
  });

  it(`answers an unknown flag (${BOGUS}) with one line on stderr and exit 2, no stack trace`, () => {
    const run = bogus.get(command) as CommandRun;
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).not.toContain("    at ");
    expect(run.stderr).toMatch(new RegExp(`^error: [^\\n]+ \\(run '${command} --help' for usage\\)\\n$`));
    // A subcommand with required options reports the missing one first (commander's order).
    if (!command.startsWith("pnpm keys ")) expect(run.stderr).toContain(`unknown option '${BOGUS}'`);
  });
});
