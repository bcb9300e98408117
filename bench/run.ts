/**
 * `pnpm bench`: the end-to-end benchmark. Starts the Didit sandbox, partner-a and partner-b from their
 * production builds in an isolated world (own databases, queue prefix, keys, ports) and, in one run,
 * measures a bare baseline of the same I/O shape, max throughput, latency at half load, resources,
 * and a backlog drain, checking after every phase that each share was imported exactly once.
 * See bench/README.md.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "@share-broker/channel/cli";
import pg from "pg";
import { BareBaseline, type BareRun } from "./bare/baseline.js";
import { A_CONCURRENCY, B_CONCURRENCY } from "./bare/shape.js";
import { GcLog } from "./gc-pauses.js";
import { describeMachine } from "./machine.js";
import { type BenchOptions, benchProgram } from "./options.js";
import { checkDiditImports } from "./outcomes.js";
import {
  type ProductRun,
  perShare,
  postgresCounters,
  runBacklog,
  runMaxThroughput,
  runPaced,
} from "./phases.js";
import { ProductStack } from "./product.js";
import { profilesIn, summarizeProfile } from "./profile.js";
import { say, sleep } from "./progress.js";
import { median } from "./report/format.js";
import { renderHtml } from "./report/html.js";
import { renderTable } from "./report/table.js";
import type { BenchResult, PhaseResources, Targets, WithResources } from "./result.js";
import { ResourceSampler } from "./sampler.js";
import { BENCH_SETTINGS, type Launch, type ServiceName } from "./services.js";
import { createShareableUsers, type ShareableUser } from "./users.js";
import {
  ADMIN_DATABASE_URL,
  autovacuumIsOn,
  type BenchWorld,
  createWorld,
  destroyWorld,
  REPO_ROOT,
  serviceDir,
  vacuumWorld,
} from "./world.js";

const SERVICES: ServiceName[] = ["didit-sandbox", "partner-a", "partner-b"];
const RESULTS_DIR = join(REPO_ROOT, "bench", "results");
const STATS_FLUSH_MS = 11_000;

function build(options: BenchOptions): void {
  if (options.build) {
    say("building the services and their packages (turbo, cached)");
    const filters = SERVICES.map((name) => `--filter=@share-broker/${name}`);
    const result = spawnSync(
      "pnpm",
      ["exec", "turbo", "run", "build", ...filters, "--output-logs=errors-only"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    if (result.status !== 0)
      throw new Error("the build failed; fix it, or run with --no-build to use dist/ as it is");
  }
  for (const name of SERVICES) {
    if (!existsSync(join(serviceDir(name), "dist", "server.js"))) {
      throw new Error(`services/${name}/dist/server.js is missing: run pnpm build (or drop --no-build)`);
    }
  }
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

class Bench {
  readonly sampler = new ResourceSampler(250);
  readonly phaseMarks: BenchResult["phaseMarks"] = [];
  readonly userCreation: BenchResult["userCreation"] = [];
  readonly failures: string[] = [];
  /** Monotonic windows of the max-throughput runs, to cut the CPU profiles to them. */
  readonly profileWindows: [number, number][] = [];
  stack: ProductStack | undefined;
  bare: BareBaseline | undefined;
  postgresPids: number[] = [];
  /** Set when the server does not vacuum on its own: the bench then vacuums before each run. */
  vacuumBeforeRuns = false;
  readonly #admin = new pg.Pool({ connectionString: ADMIN_DATABASE_URL, max: 1 });
  #pidTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly options: BenchOptions,
    readonly world: BenchWorld,
    readonly profileDir: string | undefined,
  ) {
    this.gc = options.traceGc ? new GcLog() : undefined;
    this.sampler.trackPid("partner-a", () => this.stack?.processes["partner-a"].pid);
    this.sampler.trackPid("partner-b", () => {
      const b = this.stack?.processes["partner-b"];
      return b && b.child.exitCode === null && b.child.signalCode === null ? b.pid : undefined;
    });
    this.sampler.trackPid("didit-sandbox", () => this.stack?.processes["didit-sandbox"].pid);
    this.sampler.trackPid("bare-a", () => this.bare?.processes.a.pid);
    this.sampler.trackPid("bare-b", () => this.bare?.processes.b.pid);
    // Only the backends serving this world's databases: others may share the Postgres server.
    this.sampler.track("postgres", () => this.postgresPids);
    this.sampler.trackCommand("redis", "redis-server");
    this.sampler.trackPid("bench", () => process.pid);
  }

  /** Samples resources; the Postgres backends of this world are looked up every 2 s. */
  startSampling(): void {
    const refresh = async () => {
      const { rows } = await this.#admin.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname like $1",
        [`bench_${this.world.id}_%`],
      );
      this.postgresPids = rows.map((row) => row.pid);
    };
    void refresh().catch(() => undefined);
    this.#pidTimer = setInterval(() => void refresh().catch(() => undefined), 2_000);
    this.sampler.start();
  }

  async stopSampling(): Promise<void> {
    clearInterval(this.#pidTimer);
    this.sampler.stop();
    await this.#admin.end();
  }

  /** With --trace-gc: every measured process's garbage-collection pauses. */
  readonly gc: GcLog | undefined;

  /** Flags of every process the bench starts: --cpu-prof for the product's services, --trace-gc for all. */
  get launch(): Launch {
    return {
      nodeArgs: (name) => [
        ...(this.gc ? ["--trace-gc"] : []),
        ...(this.profileDir && (SERVICES as readonly string[]).includes(name)
          ? ["--cpu-prof", `--cpu-prof-dir=${join(this.profileDir, name)}`]
          : []),
      ],
      gc: this.gc,
    };
  }

  async resources(from: number, to: number, settleMs = 0): Promise<PhaseResources> {
    if (settleMs) await sleep(settleMs);
    const during = this.sampler.window(from, to);
    const after = this.sampler.window(to + Math.max(0, settleMs - 750), Date.now());
    const rssAfterMiB = Object.fromEntries(
      Object.entries(after.procs).map(([name, stats]) => [name, stats.endRssMiB]),
    );
    return { ...during, seconds: (to - from) / 1000, rssAfterMiB };
  }

  mark(label: string, from: number, to: number): void {
    this.phaseMarks.push({ label, from, to });
  }

  check(label: string, correctness: { ok: boolean; problems: string[] }): void {
    if (!correctness.ok) this.failures.push(`${label}: ${correctness.problems.slice(0, 3).join("; ")}`);
  }

  async users(label: string, count: number): Promise<ShareableUser[]> {
    const stack = this.stack as ProductStack;
    const from = Date.now();
    const { users, seconds } = await createShareableUsers(
      {
        sandboxControl: stack.sandboxControl,
        sandboxAsA: stack.sandboxAsA,
        dbA: stack.dbA,
        dbB: stack.dbB,
      },
      label,
      count,
      this.options.userConcurrency,
      this.options.stallSeconds * 1000,
    );
    this.mark(`users ${label}`, from, Date.now());
    this.userCreation.push({ label, users: count, seconds, perSecond: count / seconds });
    return users;
  }

  /** Before a measured run: what autovacuum would have done since the last one (see vacuumWorld). */
  async beforeRun(label: string): Promise<void> {
    if (!this.vacuumBeforeRuns) return;
    const seconds = await vacuumWorld(this.world);
    say(`${label}: vacuumed the world's databases first (${seconds.toFixed(1)} s, not timed)`);
  }

  /**
   * Starts the bare baseline's two processes for `work` and stops them after it; `this.bare` is set
   * meanwhile, so the resource sampler sees them.
   */
  async #withBare<T>(why: string, work: (bare: BareBaseline) => Promise<T>): Promise<T> {
    say(`${why}: starting its two processes`);
    const bare = await BareBaseline.start(this.world, this.launch);
    this.bare = bare;
    try {
      return await work(bare);
    } finally {
      await bare.stop();
      this.bare = undefined;
    }
  }

  async runBare(): Promise<WithResources<BareRun>[]> {
    const { options } = this;
    return this.#withBare("bare baseline", async (bare) => {
      const runs: WithResources<BareRun>[] = [];
      for (let index = 1; index <= options.runs; index += 1) {
        await this.beforeRun(`bare ${index}`);
        const from = Date.now();
        const run = await bare.run(
          `${index}`,
          options.shares,
          options.concurrency,
          options.stallSeconds * 1000,
        );
        say(
          `bare ${index}: ${run.shares} in ${run.seconds.toFixed(1)} s = ${run.sharesPerSecond.toFixed(0)}/s`,
        );
        this.check(`bare run ${index}`, run.correctness);
        this.mark(`bare ${index}`, from, run.lastAppliedAt);
        runs.push({ result: run, resources: await this.resources(from, run.lastAppliedAt, 1_000) });
      }
      return runs;
    });
  }

  /** The bare baseline paced at `rate` for `count` shares (its processes started for this alone). */
  async runBarePaced(rate: number, count: number): Promise<BareRun & { maxLatenessMs: number }> {
    const stallMs = this.options.stallSeconds * 1000;
    return this.#withBare("half load, bare baseline", async (bare) => {
      // Freshly started processes stall their first second or so (JIT, connections): warm them up,
      // as the product's services are by the max runs before its half load.
      await bare.run("warm-up", Math.min(count, 2_000), 16, stallMs);
      await this.beforeRun("half load, bare baseline");
      say(`half load, bare baseline: offering ${count} at ${rate.toFixed(1)}/s`);
      const run = await bare.runPaced("half", count, rate, stallMs);
      say(
        `half load, bare baseline: ${run.shares} in ${run.seconds.toFixed(1)} s, p99 accept→import ${run.acceptToImport.p99.toFixed(0)} ms`,
      );
      this.check("half load, bare baseline", run.correctness);
      this.mark("half load, bare", run.firstAcceptAt, run.lastAppliedAt);
      return run;
    });
  }

  async runMax(users: ShareableUser[]): Promise<WithResources<ProductRun>[]> {
    const { options } = this;
    const runs: WithResources<ProductRun>[] = [];
    for (let index = 1; index <= options.runs; index += 1) {
      const slice = users.slice((index - 1) * options.shares, index * options.shares);
      await this.beforeRun(`max ${index}`);
      const fromUs = monotonicUs();
      const startedAt = Date.now();
      const run = await runMaxThroughput(
        this.stack as ProductStack,
        `max ${index}`,
        slice,
        options.concurrency,
        options.stallSeconds * 1000,
      );
      this.profileWindows.push([fromUs, fromUs + (run.lastAppliedAt - startedAt) * 1000]);
      this.check(`max run ${index}`, run.correctness);
      this.mark(`max ${index}`, run.firstSentAt, run.lastAppliedAt);
      runs.push({ result: run, resources: await this.resources(run.firstSentAt, run.lastAppliedAt, 3_000) });
    }
    return runs;
  }
}

function targetsOf(result: BenchResult): Partial<Targets> {
  const targets: Partial<Targets> = {};
  if (result.ratio !== undefined) {
    targets.throughputRatio = { value: result.ratio, target: 0.6, met: result.ratio >= 0.6 };
  }
  if (result.half && result.options.halfLoadRate === undefined) {
    const value = result.half.result.acceptToImport.p99;
    targets.p99AcceptToImportMs = { value, target: 100, met: value <= 100 };
  }
  if (result.max.length) {
    let worst = { value: 0, service: "" };
    for (const run of result.max) {
      for (const service of ["partner-a", "partner-b"]) {
        const peak = run.resources.procs[service]?.peakRssMiB ?? 0;
        if (peak > worst.value) worst = { value: peak, service };
      }
    }
    targets.peakRssMiB = { ...worst, target: 200, met: worst.value <= 200 };
    let growth = { runs: [] as number[], service: "", growthPct: Number.NEGATIVE_INFINITY };
    for (const service of ["partner-a", "partner-b"]) {
      const after = result.max.map((run) => run.resources.rssAfterMiB?.[service] ?? Number.NaN);
      const first = after[0] as number;
      const pct = ((Math.max(...after.slice(1)) - first) / first) * 100;
      if (pct > growth.growthPct) growth = { runs: after, service, growthPct: pct };
    }
    // "No growth": later runs end within 10% of the first run's resident set.
    if (result.max.length > 1) targets.rssGrowth = { ...growth, met: growth.growthPct <= 10 };
  }
  if (result.backlog) {
    const drained = result.backlog.result.run.correctness.ok;
    targets.backlogDrained = { value: drained, met: drained };
  }
  return targets;
}

async function main(options: BenchOptions): Promise<number> {
  build(options);
  const startedAt = new Date();
  const stamp = startedAt
    .toISOString()
    .replace(/[:.]/g, "-")
    .replace(/-\d{3}Z$/, "Z");
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = await describeMachine();
  say(`machine: ${machine.cores} cores, load average ${machine.loadAverageAtStart.join(" ")}`);
  const world = await createWorld();
  say(`world ${world.id}: databases bench_${world.id}_*, queue prefix ${world.prefix}, folder ${world.dir}`);
  const profileDir = options.profile ? join(RESULTS_DIR, `${stamp}-profiles`) : undefined;
  const bench = new Bench(options, world, profileDir);
  let interrupted = false;
  const cleanup = async () => {
    await bench.bare?.stop().catch(() => undefined);
    await bench.stack?.stop().catch(() => undefined);
    if (!options.keep) await destroyWorld(world).catch((error) => say(`cleanup: ${String(error)}`));
  };
  process.once("SIGINT", () => {
    interrupted = true;
    say("interrupted: stopping the services and dropping the world");
    void cleanup().finally(() => process.exit(130));
  });

  bench.vacuumBeforeRuns = !(await autovacuumIsOn());
  bench.startSampling();
  const result: BenchResult = {
    startedAt: startedAt.toISOString(),
    finishedAt: "",
    options: { ...options, phases: [...options.phases] },
    machine,
    settings: {
      ...BENCH_SETTINGS,
      DISPATCH_CONCURRENCY: `${A_CONCURRENCY} (default; the bare baseline's partner-a workers too)`,
      INBOX_CONCURRENCY: `${B_CONCURRENCY} (default; the bare baseline's partner-b worker too)`,
      ...(bench.vacuumBeforeRuns
        ? {
            "autovacuum (server)":
              "off: VACUUM (ANALYZE) of the world's databases before each measured run (bare and product alike), as autovacuum would between bursts; not timed",
          }
        : {}),
    },
    userCreation: bench.userCreation,
    bare: [],
    max: [],
    targets: {},
    warnings: {},
    samples: [],
    phaseMarks: bench.phaseMarks,
    ok: false,
    failures: bench.failures,
  };
  try {
    say("starting the sandbox, partner-a and partner-b (node dist/server.js)");
    bench.stack = await ProductStack.start(world, bench.launch);
    const stack = bench.stack;
    if (options.phases.has("bare")) result.bare = await bench.runBare();
    if (options.phases.has("max")) {
      const users = await bench.users("max", options.runs * options.shares);
      await sleep(STATS_FLUSH_MS);
      const before = await Promise.all([postgresCounters(stack.dbA), postgresCounters(stack.dbB)]);
      result.max = await bench.runMax(users);
      // Idle sessions flush their statistics within about 10 s (PostgreSQL 15).
      await sleep(STATS_FLUSH_MS);
      const after = await Promise.all([postgresCounters(stack.dbA), postgresCounters(stack.dbB)]);
      const shares = result.max.reduce((sum, run) => sum + run.result.shares, 0);
      result.postgresPerShare = {
        "partner-a": perShare(before[0], after[0], shares),
        "partner-b": perShare(before[1], after[1], shares),
      };
    }
    if (options.phases.has("half")) {
      const rate = options.halfLoadRate ?? median(result.max.map((run) => run.result.sharesPerSecond)) / 2;
      const users = await bench.users("half", Math.ceil(rate * options.halfLoadSeconds));
      await bench.beforeRun("half load");
      const run = await runPaced(stack, "half load", users, rate, options.stallSeconds * 1000);
      bench.check("half load", run.correctness);
      bench.mark("half load", run.firstSentAt, run.lastAppliedAt);
      result.half = { result: run, resources: await bench.resources(run.firstSentAt, run.lastAppliedAt) };
      result.halfBare = await bench.runBarePaced(rate, users.length);
    }
    if (options.phases.has("backlog")) {
      const users = await bench.users("backlog", options.backlog);
      await bench.beforeRun("backlog");
      const from = Date.now();
      const backlog = await runBacklog(stack, world, users, options.concurrency, options.stallSeconds * 1000);
      bench.check("backlog", backlog.run.correctness);
      bench.mark("backlog", from, backlog.run.lastAppliedAt);
      result.backlog = { result: backlog, resources: await bench.resources(from, backlog.run.lastAppliedAt) };
    }
    const sources = new Set(
      [
        ...result.max.map((run) => run.result),
        ...(result.half ? [result.half.result] : []),
        ...(result.backlog ? [result.backlog.result.run] : []),
      ].flatMap((run) => run.sourceSessions),
    );
    if (sources.size) {
      say(`checking Didit's side: ${sources.size} source sessions`);
      result.diditCheck = await checkDiditImports(async (offset) => {
        const answer = await stack.sandboxAsB.call("GET", `/v3/sessions/?limit=1000&offset=${offset}`);
        if (answer.status !== 200) throw new Error(`listing sessions: ${answer.status}`);
        return answer.body;
      }, sources);
      bench.check("Didit imports", result.diditCheck);
    }
  } catch (error) {
    bench.failures.push(String((error as Error).stack ?? error));
    say(`FAILED: ${String((error as Error).message ?? error)}`);
  } finally {
    if (bench.stack) result.warnings = bench.stack.warnings();
    await bench.stack
      ?.stop()
      .catch((error) => bench.failures.push(`stopping the services: ${String(error)}`));
    bench.stack = undefined;
    await bench.stopSampling();
  }
  if (interrupted) return 130;

  if (bench.gc) {
    const gc = bench.gc;
    result.gcPauses = bench.phaseMarks
      .filter((mark) => !mark.label.startsWith("users "))
      .map((mark) => ({ phase: mark.label, processes: gc.window(mark.from, mark.to) }));
  }
  if (profileDir && existsSync(profileDir)) {
    result.profiles = profilesIn(profileDir).map(({ service, file }) =>
      summarizeProfile(service, file, bench.profileWindows, 30),
    );
  }
  if (result.bare.length && result.max.length) {
    result.ratio =
      median(result.max.map((run) => run.result.sharesPerSecond)) /
      median(result.bare.map((run) => run.result.sharesPerSecond));
  }
  result.targets = targetsOf(result);
  // One sample a second is plenty for the report's chart.
  result.samples = bench.sampler.samples.filter((_, index) => index % 4 === 0);
  result.finishedAt = new Date().toISOString();
  result.ok = bench.failures.length === 0;

  const files = {
    json: join(RESULTS_DIR, `${stamp}.json`),
    html: join(RESULTS_DIR, `${stamp}.html`),
  };
  const table = renderTable(result, files);
  writeFileSync(files.json, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(files.html, renderHtml(result, table));
  process.stdout.write(`${table}\n`);

  if (!options.keep) await destroyWorld(world).catch((error) => say(`cleanup: ${String(error)}`));
  else say(`kept: databases bench_${world.id}_*, Redis keys ${world.prefix}:*, folder ${world.dir}`);
  return result.ok ? 0 : 1;
}

runCli(benchProgram(main), process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  },
);
