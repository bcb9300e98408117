import {
  createProgram,
  exitCodeOf,
  positiveInteger,
  positiveNumber,
  UsageError,
} from "@share-broker/channel/cli";
import { type Command, InvalidArgumentError, Option } from "commander";

export const PHASES = ["bare", "max", "half", "backlog"] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  /** Shares per max-throughput run (and per bare-baseline run). */
  shares: number;
  /** Consecutive max-throughput runs in one lifetime of the services (RSS growth check). */
  runs: number;
  /** Requests in flight while offering shares as fast as the system accepts them. */
  concurrency: number;
  halfLoadSeconds: number;
  /** Shares/s of the paced phase; by default half the measured max throughput. */
  halfLoadRate: number | undefined;
  /** Shares queued while partner-b is stopped. */
  backlog: number;
  /** Requests in flight while creating verified users (not timed). */
  userConcurrency: number;
  phases: Set<Phase>;
  /** Run the services with --cpu-prof and summarise where their time goes. */
  profile: boolean;
  /** Run every measured process with --trace-gc and summarise its pauses per phase. */
  traceGc: boolean;
  /** Build the three services (turbo, cached) before starting them. */
  build: boolean;
  /** Keep the databases, Redis keys and temporary folder for inspection. */
  keep: boolean;
  /** Seconds without progress before a phase is declared stuck. */
  stallSeconds: number;
}

/** What the command line gave, before --quick's defaults. */
interface RawOptions {
  shares?: number;
  runs: number;
  concurrency: number;
  halfLoadSeconds?: number;
  halfLoadRate?: number;
  backlog?: number;
  userConcurrency: number;
  phases: Set<Phase>;
  quick?: boolean;
  profile?: boolean;
  traceGc?: boolean;
  build: boolean;
  keep?: boolean;
  stallSeconds: number;
}

function phaseList(value: string): Set<Phase> {
  const phases = new Set<Phase>();
  for (const name of value.split(",").map((part) => part.trim())) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`unknown phase "${name}"; choose from ${PHASES.join(", ")}`);
    }
    phases.add(name as Phase);
  }
  return phases;
}

function resolveOptions(raw: RawOptions): BenchOptions {
  if (raw.phases.has("half") && !raw.phases.has("max") && raw.halfLoadRate === undefined) {
    throw new UsageError(
      "the half phase paces at half the measured max: include max in --phases, or give --half-load-rate",
    );
  }
  const quick = raw.quick ?? false;
  return {
    shares: raw.shares ?? (quick ? 300 : 5_000),
    runs: raw.runs,
    concurrency: raw.concurrency,
    halfLoadSeconds: raw.halfLoadSeconds ?? (quick ? 10 : 60),
    halfLoadRate: raw.halfLoadRate,
    backlog: raw.backlog ?? (quick ? 1_000 : 50_000),
    userConcurrency: raw.userConcurrency,
    phases: raw.phases,
    profile: raw.profile ?? false,
    traceGc: raw.traceGc ?? false,
    build: raw.build,
    keep: raw.keep ?? false,
    stallSeconds: raw.stallSeconds,
  };
}

/** `pnpm bench`: parses the command line and hands the options to `run`, whose result is the exit code. */
export function benchProgram(run: (options: BenchOptions) => Promise<number>): Command {
  return createProgram(
    "pnpm bench",
    "The end-to-end benchmark: starts the Didit sandbox, partner-a and partner-b from their production " +
      "builds in a world of their own and measures a bare baseline, max throughput, latency at half " +
      "load, resources and a backlog drain (bench/README.md).",
  )
    .option(
      "--shares <n>",
      "shares per max-throughput run and per bare-baseline run (default: 5000; 300 with --quick)",
      positiveInteger,
    )
    .option("--runs <n>", "consecutive max-throughput runs, one service lifetime", positiveInteger, 3)
    .option("--concurrency <n>", "requests in flight when offering as fast as possible", positiveInteger, 64)
    .option(
      "--half-load-seconds <n>",
      "seconds of the half-load latency phase (default: 60; 10 with --quick)",
      positiveInteger,
    )
    .option(
      "--half-load-rate <rate>",
      "pace the latency phase at <rate> shares/s instead of half the measured max",
      positiveNumber,
    )
    .option(
      "--backlog <n>",
      "shares queued while partner-b is stopped (default: 50000; 1000 with --quick)",
      positiveInteger,
    )
    .option("--user-concurrency <n>", "requests in flight while creating verified users", positiveInteger, 48)
    .addOption(
      new Option("--phases <list>", `comma-separated subset of ${PHASES.join(",")}`)
        .argParser(phaseList)
        .default(new Set(PHASES), "all"),
    )
    .option("--quick", "smoke run: --shares 300 --half-load-seconds 10 --backlog 1000 unless given")
    .option(
      "--profile",
      "run partner-a, partner-b and the sandbox with --cpu-prof during the max-throughput runs and print their top self-time functions",
    )
    .option(
      "--trace-gc",
      "run every measured process (services and bare baseline) with --trace-gc and print its garbage-collection pauses per phase",
    )
    .option("--no-build", "use the existing dist/ builds as they are (default: turbo build first)")
    .option("--keep", "keep databases, Redis keys and the world folder")
    .option("--stall-seconds <n>", "seconds without progress before a phase fails", positiveInteger, 120)
    .addHelpText(
      "after",
      "\nEnvironment: BENCH_DATABASE_URL (else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres),\n" +
        "a server where the bench may create databases; BENCH_REDIS_URL (else REDIS_URL, else\n" +
        "redis://127.0.0.1:6379).\n\nExit status: 0 every check passed; 1 a refused offer or a failed check; 2 usage error.",
    )
    .action(exitCodeOf((raw: RawOptions) => run(resolveOptions(raw))));
}
