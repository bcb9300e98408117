import type { BenchResult } from "../result.js";
import { escapeXml, histogramChart, lineChart, type Series } from "./svg.js";

function section(title: string, body: string): string {
  return `<section><h2>${escapeXml(title)}</h2>${body}</section>`;
}

function halfLoadCharts(result: BenchResult): string {
  const half = result.half?.result;
  if (!half) return "";
  const { importBuckets, appliedBuckets, importHistogram, appliedHistogram } = half.charts;
  const line = lineChart({
    title: `Latency over time at half load (${half.offered})`,
    xLabel: "seconds since the first accept",
    yLabel: "milliseconds",
    series: [
      { name: "B import p50", points: importBuckets.map((b) => [b.second, b.p50] as const) },
      { name: "B import p99", points: importBuckets.map((b) => [b.second, b.p99] as const) },
      { name: "B import max", points: importBuckets.map((b) => [b.second, b.max] as const), dashed: true },
      { name: "A applied p99", points: appliedBuckets.map((b) => [b.second, b.p99] as const) },
    ],
  });
  const histImport = histogramChart({
    title: "accept → import recorded at partner-b (half load)",
    xLabel: "milliseconds",
    width: importHistogram.width,
    counts: importHistogram.counts,
    overflow: importHistogram.overflow,
    marks: [
      { label: `p50 ${half.acceptToImport.p50.toFixed(0)} ms`, value: half.acceptToImport.p50 },
      { label: `p99 ${half.acceptToImport.p99.toFixed(0)} ms`, value: half.acceptToImport.p99 },
    ],
  });
  const histApplied = histogramChart({
    title: "accept → result applied at partner-a (half load)",
    xLabel: "milliseconds",
    width: appliedHistogram.width,
    counts: appliedHistogram.counts,
    overflow: appliedHistogram.overflow,
    colour: "#2ca02c",
    marks: [
      { label: `p50 ${half.acceptToApplied.p50.toFixed(0)} ms`, value: half.acceptToApplied.p50 },
      { label: `p99 ${half.acceptToApplied.p99.toFixed(0)} ms`, value: half.acceptToApplied.p99 },
    ],
  });
  return section("3. Latency at half load", line + histImport + histApplied);
}

function throughputCharts(result: BenchResult): string {
  if (!result.max.length) return "";
  const series: Series[] = result.max.flatMap(({ result: run }, index) => [
    {
      name: `run ${index + 1} applied/s`,
      points: run.charts.appliedPerSecond.map((count, second) => [second, count] as const),
    },
    {
      name: `run ${index + 1} accepted/s`,
      points: run.charts.acceptsPerSecond.map((count, second) => [second, count] as const),
      dashed: true,
    },
  ]);
  // Accepted but not yet applied at partner-a, at the end of each second: the queue the run builds.
  const outstanding: Series[] = result.max.map(({ result: run }, index) => {
    let accepted = 0;
    let applied = 0;
    const seconds = Math.max(run.charts.acceptsPerSecond.length, run.charts.appliedPerSecond.length);
    return {
      name: `run ${index + 1}`,
      points: Array.from({ length: seconds }, (_, second) => {
        accepted += run.charts.acceptsPerSecond[second] ?? 0;
        applied += run.charts.appliedPerSecond[second] ?? 0;
        return [second + 1, accepted - applied] as const;
      }),
    };
  });
  return section(
    "2. Max throughput",
    lineChart({
      title: "Shares per second (accepted, and results applied at partner-a)",
      xLabel: "seconds since the first accept",
      yLabel: "shares/s",
      series,
    }) +
      lineChart({
        title: "Shares accepted but not yet applied at partner-a (end of each second)",
        xLabel: "seconds since the first accept",
        yLabel: "shares in flight",
        series: outstanding,
      }),
  );
}

function resourceCharts(result: BenchResult): string {
  if (!result.samples.length) return "";
  const start = result.samples[0]?.t ?? 0;
  const names = ["partner-a", "partner-b", "didit-sandbox", "bare-a", "bare-b", "postgres", "redis", "bench"];
  const series = (pick: "rssMiB" | "cpuPct") =>
    names
      .map((name) => ({
        name,
        points: result.samples.flatMap((sample) => {
          const reading = sample.procs[name];
          return reading ? [[(sample.t - start) / 1000, reading[pick]] as const] : [];
        }),
      }))
      // Postgres is many processes sharing its buffers: summed RSS would count them many times.
      .filter((entry) => entry.points.length > 0 && !(pick === "rssMiB" && entry.name === "postgres"));
  const bands = result.phaseMarks.map((mark) => ({
    from: (mark.from - start) / 1000,
    to: (mark.to - start) / 1000,
    label: mark.label,
  }));
  const machine: Series = {
    name: "machine (all cores)",
    points: result.samples.map(
      (sample) => [(sample.t - start) / 1000, sample.machinePct * result.machine.cores] as const,
    ),
    dashed: true,
    colour: "#000",
  };
  return section(
    "4. Resources over the whole run",
    lineChart({
      title: "Resident set size",
      xLabel: "seconds since start",
      yLabel: "MiB",
      series: series("rssMiB"),
      bands,
    }) +
      lineChart({
        title: "CPU (% of one core; the machine line is all cores busy)",
        xLabel: "seconds since start",
        yLabel: "% of one core",
        series: [...series("cpuPct"), machine],
        bands,
      }),
  );
}

/** One self-contained HTML page: the text summary, then the charts. */
export function renderHtml(result: BenchResult, table: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>share-broker benchmark ${escapeXml(result.startedAt)}</title>
<style>
body { font-family: sans-serif; margin: 24px; max-width: 1100px; color: #222; }
pre { background: #f7f7f7; padding: 12px; overflow-x: auto; font-size: 12px; line-height: 1.35; }
section { margin-top: 28px; } svg { display: block; margin: 12px 0; max-width: 100%; height: auto; }
.fail { color: #b00; font-weight: bold; } .ok { color: #070; font-weight: bold; }
</style></head><body>
<h1>share-broker end-to-end benchmark</h1>
<p class="${result.ok ? "ok" : "fail"}">${result.ok ? "Every share of every run was imported exactly once." : `FAILED: ${escapeXml(result.failures.join("; "))}`}</p>
<pre>${escapeXml(table)}</pre>
${throughputCharts(result)}
${halfLoadCharts(result)}
${resourceCharts(result)}
</body></html>
`;
}
