import { parseArgs } from "node:util";

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

const USAGE = `pnpm bench [options]

  --shares N             shares per max-throughput run and per bare-baseline run (default 5000)
  --runs N               consecutive max-throughput runs, one service lifetime (default 3)
  --concurrency N        requests in flight when offering as fast as possible (default 64)
  --half-load-seconds N  length of the half-load latency phase (default 60)
  --half-load-rate R     pace the latency phase at R shares/s instead of half the measured max
  --backlog N            shares queued while partner-b is stopped (default 50000)
  --user-concurrency N   requests in flight while creating verified users (default 48)
  --phases LIST          comma-separated subset of ${PHASES.join(",")} (default all)
  --quick                smoke run: --shares 300 --runs 3 --half-load-seconds 10 --backlog 1000
  --profile              run partner-a, partner-b and the sandbox with --cpu-prof during the
                         max-throughput runs and print their top self-time functions
  --trace-gc             run every measured process (services and bare baseline) with --trace-gc
                         and print its garbage-collection pauses per phase
  --no-build             use the existing dist/ builds as they are (default: turbo build first)
  --keep                 keep databases, Redis keys and the world folder
  --stall-seconds N      seconds without progress before a phase fails (default 120)
  --help`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer`);
  return parsed;
}

function rate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!(parsed > 0)) throw new Error("--half-load-rate must be a positive number of shares per second");
  return parsed;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      shares: { type: "string" },
      runs: { type: "string" },
      concurrency: { type: "string" },
      "half-load-seconds": { type: "string" },
      "half-load-rate": { type: "string" },
      backlog: { type: "string" },
      "user-concurrency": { type: "string" },
      phases: { type: "string" },
      quick: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "trace-gc": { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "stall-seconds": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const phases = new Set<Phase>();
  for (const name of (values.phases ?? PHASES.join(",")).split(",").map((part) => part.trim())) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new Error(`unknown phase "${name}"; choose from ${PHASES.join(", ")}`);
    }
    phases.add(name as Phase);
  }
  if (phases.has("half") && !phases.has("max") && values["half-load-rate"] === undefined) {
    throw new Error(
      "the half phase paces at half the measured max: include max in --phases, or give --half-load-rate",
    );
  }
  return {
    shares: positive("shares", values.shares, quick ? 300 : 5_000),
    runs: positive("runs", values.runs, 3),
    concurrency: positive("concurrency", values.concurrency, 64),
    halfLoadSeconds: positive("half-load-seconds", values["half-load-seconds"], quick ? 10 : 60),
    halfLoadRate: rate(values["half-load-rate"]),
    backlog: positive("backlog", values.backlog, quick ? 1_000 : 50_000),
    userConcurrency: positive("user-concurrency", values["user-concurrency"], 48),
    phases,
    profile: values.profile,
    traceGc: values["trace-gc"],
    build: !values["no-build"],
    keep: values.keep,
    stallSeconds: positive("stall-seconds", values["stall-seconds"], 120),
  };
}
