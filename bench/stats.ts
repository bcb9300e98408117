export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
  };
}

export interface Bucket {
  /** Seconds since the phase started. */
  second: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Per-second latency percentiles of (time, latency) points, by the second each share was accepted. */
export function perSecond(points: readonly { at: number; value: number }[], start: number): Bucket[] {
  const groups = new Map<number, number[]>();
  for (const point of points) {
    const second = Math.floor((point.at - start) / 1000);
    const group = groups.get(second) ?? [];
    group.push(point.value);
    groups.set(second, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, values]) => {
      const sorted = values.sort((a, b) => a - b);
      return {
        second,
        count: sorted.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) as number,
      };
    });
}

/** How many events fell in each second since `start` (a throughput curve). */
export function countPerSecond(times: readonly number[], start: number): number[] {
  const counts: number[] = [];
  for (const time of times) {
    const second = Math.max(0, Math.floor((time - start) / 1000));
    while (counts.length <= second) counts.push(0);
    counts[second] = (counts[second] ?? 0) + 1;
  }
  return counts;
}

export interface Histogram {
  /** Lower edge of each bin, milliseconds. */
  edges: number[];
  width: number;
  counts: number[];
  /** Values above the last bin. */
  overflow: number;
}

/** Equal-width bins from 0 to the 99.5th percentile; what lies beyond is counted as overflow. */
export function histogram(values: readonly number[], bins = 40): Histogram {
  const sorted = [...values].sort((a, b) => a - b);
  const top = Math.max(1, percentile(sorted, 99.5));
  const width = niceWidth(top / bins);
  const counts = new Array<number>(bins).fill(0);
  let overflow = 0;
  for (const value of sorted) {
    const bin = Math.floor(value / width);
    if (bin >= bins) overflow += 1;
    else counts[Math.max(0, bin)] = (counts[Math.max(0, bin)] ?? 0) + 1;
  }
  return { edges: counts.map((_, index) => index * width), width, counts, overflow };
}

function niceWidth(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= raw) return step * magnitude;
  return 10 * magnitude;
}

/** Minimum and maximum without spreading large arrays into arguments. */
export function minOf(values: readonly number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const value of values) if (value < min) min = value;
  return min;
}

export function maxOf(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > max) max = value;
  return max;
}
