import { LONG_PAUSE_MS } from "../gc-pauses.js";
import type { ProductRun } from "../phases.js";
import type { BenchResult, PhaseResources } from "../result.js";
import type { Summary } from "../stats.js";
import { fmt, median, textTable } from "./format.js";

const SERVICES = ["partner-a", "partner-b", "didit-sandbox"] as const;

function throughputRows(result: BenchResult): string[][] {
  const rows = [
    [
      "run",
      "shares",
      "seconds",
      "shares/s",
      "accepts/s",
      "p50 acc→imp B",
      "p99 acc→imp B",
      "p99 acc→applied A",
      "check",
    ],
  ];
  for (const { result: run } of result.bare) {
    rows.push([
      `bare ${run.label}`,
      fmt.int(run.shares),
      fmt.one(run.seconds),
      fmt.int(run.sharesPerSecond),
      "",
      fmt.ms(run.acceptToImport.p50),
      fmt.ms(run.acceptToImport.p99),
      fmt.ms(run.acceptToApplied.p99),
      run.correctness.ok ? "ok" : "FAIL",
    ]);
  }
  for (const { result: run } of result.max) {
    rows.push([
      `product ${run.label}`,
      fmt.int(run.shares),
      fmt.one(run.seconds),
      fmt.int(run.sharesPerSecond),
      fmt.int(run.acceptsPerSecond),
      fmt.ms(run.acceptToImport.p50),
      fmt.ms(run.acceptToImport.p99),
      fmt.ms(run.acceptToApplied.p99),
      run.correctness.ok ? "ok" : "FAIL",
    ]);
  }
  return rows;
}

/** CPU time one share cost a process: its mean CPU over the run's window times the window, per share. */
export function cpuMsPerShare(run: { shares: number }, resources: PhaseResources, name: string): number {
  const pct = resources.procs[name]?.meanCpuPct;
  return pct === undefined ? Number.NaN : ((pct / 100) * resources.seconds * 1000) / run.shares;
}

/** Total CPU per share of the processes doing a share's work (not the load generator). */
export function totalCpuMsPerShare(
  run: { shares: number },
  resources: PhaseResources,
  names: readonly string[],
): number {
  return names.reduce((sum, name) => sum + (cpuMsPerShare(run, resources, name) || 0), 0);
}

/** The stages between accept and result, from the partners' timestamps (they add up to the total). */
function stageRows(run: ProductRun): [string, Summary][] {
  if (!run.stages) return [];
  return [
    ["  stage: accept → offer queued at A", run.stages.dispatch],
    ["  stage: queued → receipt at B", run.stages.toReceipt],
    ["  stage: receipt → import decided at B", run.stages.import],
    ["  stage: decided → result applied at A", run.stages.result],
  ];
}

function resourceRows(result: BenchResult): string[][] {
  const rows = [
    [
      "process",
      ...result.max.map((_, i) => `peak RSS ${i + 1}`),
      ...result.max.map((_, i) => `RSS after ${i + 1}`),
      "mean CPU",
      "peak CPU",
      "CPU ms/share",
    ],
  ];
  const names = [...SERVICES, "postgres", "redis", "bench"];
  for (const name of names) {
    // Postgres is many processes sharing its buffers: summed RSS would count them many times.
    const rss = (value: number | undefined) => (name === "postgres" ? "–" : fmt.mib(value ?? Number.NaN));
    const peaks = result.max.map((run) => rss(run.resources.procs[name]?.peakRssMiB));
    const after = result.max.map((run) => rss(run.resources.rssAfterMiB?.[name]));
    const cpu = result.max.map((run) => run.resources.procs[name]?.meanCpuPct ?? Number.NaN);
    const peakCpu = result.max.map((run) => run.resources.procs[name]?.peakCpuPct ?? Number.NaN);
    const perShare = result.max.map(({ result: run, resources }) => cpuMsPerShare(run, resources, name));
    rows.push([
      name,
      ...peaks,
      ...after,
      fmt.pct(median(cpu)),
      fmt.pct(Math.max(...peakCpu)),
      fmt.one(median(perShare)),
    ]);
  }
  return rows;
}

/** The stdout summary: machine, versions, the four parts, the ratio, the targets and correctness. */
function gcRows(phases: NonNullable<BenchResult["gcPauses"]>): string[][] {
  const rows = [["phase", "process", "pauses", "total ms", "max ms", "long", "live heap"]];
  for (const { phase, processes } of phases) {
    for (const [name, gc] of Object.entries(processes).sort(([a], [b]) => a.localeCompare(b))) {
      rows.push([
        phase,
        name,
        fmt.int(gc.pauses),
        fmt.int(gc.totalMs),
        fmt.one(gc.maxMs),
        fmt.int(gc.long),
        gc.liveHeapMiB ? `${fmt.int(gc.liveHeapMiB)} MiB` : "–",
      ]);
    }
  }
  return rows;
}

export function renderTable(result: BenchResult, files: { json: string; html: string }): string {
  const { machine } = result;
  const out: string[] = [];
  out.push(`share-broker end-to-end benchmark, ${result.startedAt} (commit ${machine.commit})`);
  out.push(
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, Linux ${machine.kernel}; ` +
      `load average at start ${machine.loadAverageAtStart.map((value) => value.toFixed(1)).join(" ")}`,
  );
  out.push(
    `versions: node ${machine.node}, PostgreSQL ${machine.postgres} (synchronous_commit ${machine.postgresSettings.synchronous_commit}), ` +
      `Redis ${machine.redis} (appendonly ${machine.redisSettings.appendonly})`,
  );
  out.push(
    `packages: ${Object.entries(machine.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}`,
  );
  out.push("settings (everything else at the services' defaults):");
  for (const [key, value] of Object.entries(result.settings)) out.push(`  ${key}=${value}`);
  if (result.options.profile)
    out.push("NOTE: --profile: services ran under --cpu-prof; figures carry its overhead.");
  out.push("");
  if (result.bare.length || result.max.length) {
    out.push(
      `1-2. bare baseline and max throughput: ${result.options.shares} shares per run, offered as fast as accepted (${result.options.concurrency} in flight); shares/s from first accept to last result applied`,
    );
    out.push(textTable(throughputRows(result)));
    const last = result.max.at(-1)?.result;
    if (last?.stages) {
      out.push(`where the time goes in ${last.label} (p50 / p99):`);
      for (const [label, summary] of stageRows(last)) {
        out.push(`${label.padEnd(42)} ${fmt.ms(summary.p50)} / ${fmt.ms(summary.p99)}`);
      }
    }
    if (result.ratio !== undefined) {
      out.push(`ratio product/bare (medians): ${result.ratio.toFixed(2)}  (target ≥ 0.60)`);
    }
    out.push("");
  }
  if (result.half) {
    const half = result.half.result;
    out.push(
      `3. latency at ${result.options.halfLoadRate ? "a fixed rate (--half-load-rate)" : "half load"}: ${half.offered} for ${result.options.halfLoadSeconds} s (${half.shares} shares; generator at most ${fmt.ms(half.maxLatenessMs)} late)`,
    );
    out.push(
      textTable([
        ["latency", "p50", "p95", "p99", "max"],
        ...(
          [
            ["accept → import recorded at B", half.acceptToImport],
            ["accept → result applied at A", half.acceptToApplied],
            ["POST /v1/shares answer", half.acceptLatency],
            ...stageRows(half),
          ] as const
        ).map(([label, summary]) => [
          label,
          fmt.ms(summary.p50),
          fmt.ms(summary.p95),
          fmt.ms(summary.p99),
          fmt.ms(summary.max),
        ]),
      ]),
    );
    const bare = result.halfBare;
    if (bare) {
      const { p50, p95, p99, max } = bare.acceptToImport;
      out.push(
        `the bare baseline at the same rate (${bare.shares} shares; generator at most ${fmt.ms(bare.maxLatenessMs)} late): accept → import at bare-b p50 ${fmt.ms(p50)}, p95 ${fmt.ms(p95)}, p99 ${fmt.ms(p99)}, max ${fmt.ms(max)}`,
      );
    }
    out.push(
      `check: ${half.correctness.ok ? "every share imported exactly once" : `FAIL ${half.correctness.problems.join("; ")}`}`,
    );
    out.push("");
  }
  if (result.max.length) {
    out.push(
      "4. resources during the max-throughput runs (CPU in % of one core; RSS after = 3 s after each run)",
    );
    out.push(textTable(resourceRows(result)));
    const product = median(
      result.max.map(({ result: run, resources }) =>
        totalCpuMsPerShare(run, resources, ["partner-a", "partner-b", "didit-sandbox", "postgres", "redis"]),
      ),
    );
    out.push(
      `CPU per share, product (partners, sandbox, our Postgres backends, Redis): ${fmt.one(product)} ms`,
    );
    if (result.bare.length) {
      const bare = median(
        result.bare.map(({ result: run, resources }) =>
          totalCpuMsPerShare(run, resources, ["bare-a", "bare-b", "didit-sandbox", "postgres", "redis"]),
        ),
      );
      const parts = ["bare-a", "bare-b", "didit-sandbox", "postgres", "redis"]
        .map(
          (name) =>
            `${name} ${fmt.one(median(result.bare.map((b) => cpuMsPerShare(b.result, b.resources, name))))}`,
        )
        .join(", ");
      out.push(`CPU per share, bare baseline: ${fmt.one(bare)} ms (${parts})`);
      out.push(
        `CPU-based ratio bare/product: ${(bare / product).toFixed(2)} (what the throughput ratio would be if CPU were the only limit; less sensitive to other load on the machine)`,
      );
    }
    out.push(
      `machine busy (all cores) during max runs: ${result.max.map((run) => fmt.pct(run.resources.machineMeanPct)).join(" / ")}`,
    );
    const pgPer = result.postgresPerShare;
    if (pgPer) {
      const describe = (name: "partner-a" | "partner-b") =>
        `${name} ${pgPer[name].commits.toFixed(1)} transactions, ${pgPer[name].inserted.toFixed(1)} inserts, ` +
        `${pgPer[name].updated.toFixed(1)} updates, ${pgPer[name].deleted.toFixed(1)} deletes`;
      out.push(`Postgres per share (pg_stat_database): ${describe("partner-a")}; ${describe("partner-b")}`);
    }
    out.push("");
  }
  if (result.backlog) {
    const backlog = result.backlog.result;
    const per1000 = (seconds: number) => `${fmt.one((seconds / backlog.shares) * 1000)} s per 1,000`;
    out.push(`4b. backlog: ${fmt.int(backlog.shares)} shares queued while partner-b was stopped`);
    out.push(
      textTable(
        [
          ["measure", "value"],
          [
            "accepted by partner-a in",
            `${fmt.one(backlog.acceptSeconds)} s (${per1000(backlog.acceptSeconds)})`,
          ],
          [
            "minted and sent by partner-a in",
            `${fmt.one(backlog.sentSeconds)} s (${per1000(backlog.sentSeconds)})`,
          ],
          ["offers waiting in the inbox", fmt.int(backlog.redis.inboxWaiting)],
          [
            "Redis used_memory growth",
            `${fmt.bytes(backlog.redis.usedMemoryAfter - backlog.redis.usedMemoryBefore)} (${fmt.bytes(backlog.redis.bytesPerShare)}/share)`,
          ],
          [
            "Redis memory of the channel's keys",
            `${fmt.bytes(backlog.redis.ownKeysBytesAfter - backlog.redis.ownKeysBytesBefore)} (${fmt.bytes(backlog.redis.ownBytesPerShare)}/share)`,
          ],
          ["sealed share offer", fmt.bytes(backlog.redis.envelopeBytes)],
          [
            "drain: partner-b ready → last result at A",
            `${fmt.one(backlog.drainFromReadySeconds)} s (${fmt.int(backlog.drainPerSecond)}/s, ${per1000(backlog.drainFromReadySeconds)})`,
          ],
          [
            "at these rates, 50,000 would take",
            `${fmt.int((backlog.sentSeconds / backlog.shares) * 50_000)} s to queue, ${fmt.int((backlog.drainFromReadySeconds / backlog.shares) * 50_000)} s to drain, Redis ${fmt.bytes(backlog.redis.ownBytesPerShare * 50_000)}`,
          ],
          ["drain: partner-b spawned → last result at A", `${fmt.one(backlog.drainFromStartSeconds)} s`],
          [
            "partner-b peak RSS while draining",
            fmt.mib(result.backlog.resources.procs["partner-b"]?.peakRssMiB ?? Number.NaN),
          ],
          [
            "check",
            backlog.run.correctness.ok
              ? "drained completely, each imported exactly once"
              : `FAIL ${backlog.run.correctness.problems.join("; ")}`,
          ],
        ],
        true,
      ),
    );
    out.push("");
  }
  const t = result.targets;
  out.push("targets (for the closing note, not a timed test):");
  const mark = (met: boolean | undefined) => (met === undefined ? "n/a " : met ? "MET " : "MISS");
  if (t.throughputRatio)
    out.push(
      `  ${mark(t.throughputRatio.met)} max throughput ≥ 60% of bare: ${(t.throughputRatio.value * 100).toFixed(0)}%`,
    );
  if (t.p99AcceptToImportMs)
    out.push(
      `  ${mark(t.p99AcceptToImportMs.met)} p99 accept→import ≤ 100 ms at half load: ${fmt.ms(t.p99AcceptToImportMs.value)}`,
    );
  if (t.peakRssMiB)
    out.push(
      `  ${mark(t.peakRssMiB.met)} RSS of each partner service ≤ 200 MiB at max throughput: ${t.peakRssMiB.service} peaked at ${fmt.mib(t.peakRssMiB.value)}`,
    );
  if (t.rssGrowth)
    out.push(
      `  ${mark(t.rssGrowth.met)} no RSS growth across ${t.rssGrowth.runs.length} runs: ${t.rssGrowth.service} ${t.rssGrowth.runs.map(fmt.mib).join(" → ")} (${t.rssGrowth.growthPct.toFixed(0)}%)`,
    );
  if (t.backlogDrained)
    out.push(`  ${mark(t.backlogDrained.met)} backlog drains completely with nothing lost`);
  if (result.diditCheck) {
    out.push(
      `Didit side: ${result.diditCheck.checked} source sessions, ${result.diditCheck.ok ? "each imported into partner-b exactly once" : `FAIL ${result.diditCheck.problems.join("; ")}`}`,
    );
  }
  out.push(
    `service warning/error lines: ${Object.entries(result.warnings)
      .map(([name, count]) => `${name} ${count}`)
      .join(", ")}`,
  );
  for (const creation of result.userCreation) {
    out.push(
      `set-up (not timed): ${creation.users} verified users for ${creation.label} in ${fmt.one(creation.seconds)} s (${fmt.int(creation.perSecond)}/s, ${fmt.one((creation.seconds / creation.users) * 1000)} s per 1,000)`,
    );
  }
  if (result.gcPauses?.length) {
    out.push("");
    out.push(
      `garbage-collection pauses (--trace-gc; each stops the process's only JavaScript thread; long = ≥ ${LONG_PAUSE_MS} ms):`,
    );
    out.push(textTable(gcRows(result.gcPauses)));
  }
  if (result.profiles?.length) {
    out.push("");
    out.push("CPU profiles (self time inside the max-throughput runs, idle excluded):");
    for (const profile of result.profiles) {
      out.push(
        `  ${profile.service}: busy ${fmt.int(profile.busyMs)} ms, idle ${fmt.int(profile.idleMs)} ms — top packages: ${profile.packages
          .slice(0, 8)
          .map((entry) => `${entry.name} ${entry.pct.toFixed(0)}%`)
          .join(", ")}`,
      );
      out.push(
        `    by kind: ${profile.categories.map((entry) => `${entry.name} ${entry.pct.toFixed(0)}%`).join(", ")}`,
      );
      for (const entry of profile.functions.slice(0, 12)) {
        out.push(`    ${entry.pct.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
      }
      out.push("    own code by inclusive time:");
      for (const entry of profile.ownInclusive.slice(0, 12)) {
        out.push(`    ${entry.pct.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
      }
    }
  }
  out.push("");
  out.push(
    result.ok
      ? "RESULT: ok, every share of every run imported exactly once"
      : `RESULT: FAILED: ${result.failures.join("; ")}`,
  );
  out.push(`json: ${files.json}`);
  out.push(`html: ${files.html}`);
  return out.join("\n");
}
