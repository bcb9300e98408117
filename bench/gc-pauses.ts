/**
 * Garbage-collection pauses of the measured processes, read from their `--trace-gc` lines
 * (`pnpm bench --trace-gc`). A pause stops the process's only JavaScript thread: every request it
 * serves waits, so the pauses explain much of a latency tail. Each line is stamped when the bench
 * reads it, so pauses can be attributed to the bench's phases.
 */

export type GcKind = "scavenge" | "mark-compact";

export interface GcPause {
  /** When the bench read the line (epoch ms). */
  at: number;
  kind: GcKind;
  /** The atomic pause on the main thread (the first of V8's "a / b ms"). */
  ms: number;
  /** Heap in use after the collection, MiB. */
  heapAfterMiB: number;
}

// Node 24's V8, e.g.
//      "[16379:0x20eff000]      226 ms: Mark-Compact 20.7 (46.8) -> 17.9 (51.0) MB, pooled: 0 MB, 34.48 / 0.00 ms  (…"
// and Node 20's, without the pooled-pages figure (bench results recorded on Node 20 hold these):
//      "[19855:0x3fe3bb20]      620 ms: Scavenge 20.1 (25.3) -> 18.2 (26.0) MB, 3.21 / 0.00 ms  (average …"
const TRACE_GC_LINE =
  /^\[\d+:0x[0-9a-f]+\]\s+[\d.]+ ms: (Scavenge|Minor Mark-Compact|Mark-Compact|Mark-Sweep)\b[^,]*?-> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/;

/** The pause a `--trace-gc` line reports, or undefined for any other line. */
export function parseTraceGcLine(line: string, at: number): GcPause | undefined {
  const match = TRACE_GC_LINE.exec(line);
  if (!match) return undefined;
  const [, kind, heapAfter, ms] = match;
  return {
    at,
    kind: kind === "Scavenge" || kind === "Minor Mark-Compact" ? "scavenge" : "mark-compact",
    ms: Number(ms),
    heapAfterMiB: Number(heapAfter),
  };
}

/** Pauses of ≥ this many ms are counted apart: each alone is half the latency target. */
export const LONG_PAUSE_MS = 50;

export interface GcSummary {
  pauses: number;
  totalMs: number;
  maxMs: number;
  /** Pauses of at least LONG_PAUSE_MS. */
  long: number;
  /** The most heap in use after a major collection (the live heap), MiB; 0 without one. */
  liveHeapMiB: number;
}

/** Every pause of every process, by process name. */
export class GcLog {
  readonly #pauses = new Map<string, GcPause[]>();

  record(processName: string, pause: GcPause): void {
    const pauses = this.#pauses.get(processName) ?? [];
    pauses.push(pause);
    this.#pauses.set(processName, pauses);
  }

  /** Each process's pauses between `from` and `to` (epoch ms), summarised. */
  window(from: number, to: number): Record<string, GcSummary> {
    const summaries: Record<string, GcSummary> = {};
    for (const [name, pauses] of this.#pauses) {
      const inside = pauses.filter((pause) => pause.at >= from && pause.at <= to);
      if (inside.length) summaries[name] = summarizePauses(inside);
    }
    return summaries;
  }
}

function summarizePauses(pauses: GcPause[]): GcSummary {
  return {
    pauses: pauses.length,
    totalMs: pauses.reduce((sum, pause) => sum + pause.ms, 0),
    maxMs: Math.max(0, ...pauses.map((pause) => pause.ms)),
    long: pauses.filter((pause) => pause.ms >= LONG_PAUSE_MS).length,
    liveHeapMiB: Math.max(
      0,
      ...pauses.filter((pause) => pause.kind === "mark-compact").map((pause) => pause.heapAfterMiB),
    ),
  };
}
