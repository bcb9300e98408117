import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { GcLog, LONG_PAUSE_MS, parseTraceGcLine } from "../../bench/gc-pauses.js";

// Lines as Node 24's V8 prints them (it adds the pooled pages after the heap sizes).
const NODE_24_MARK_COMPACT =
  "[16379:0x20eff000]      226 ms: Mark-Compact 20.7 (46.8) -> 17.9 (51.0) MB, pooled: 0 MB, 34.48 / 0.00 ms  (average mu = 0.842, current mu = 0.842) testing; GC in old space requested";
const NODE_24_SCAVENGE =
  "[16379:0x20eff000]       63 ms: Scavenge 4.8 (5.6) -> 4.4 (6.6) MB, pooled: 0 MB, 5.13 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ";
// Lines as Node 20's V8 printed them (from a benchmark run's sandbox).
const MARK_COMPACT =
  "[19855:0x3fe3bb20]    55866 ms: Mark-Compact 264.5 (298.1) -> 88.3 (296.0) MB, 72.28 / 0.20 ms  (+ 130.4 ms in 35 steps since start of marking, biggest step 35.1 ms, walltime since start of marking 320 ms) (average mu = 0.995, current mu = 0.996) finalize incremental marking via stack guard; GC in old space requested";
const REDUCE =
  "[19855:0x3fe3bb20]   211326 ms: Mark-Compact (reduce) 297.0 (332.5) -> 180.1 (300.0) MB, 18.73 / 0.52 ms  (+ 382.6 ms in 233 steps since start of marking) (average mu = 0.996, current mu = 0.996) finalize incremental marking via task; GC in old space requested";
const SCAVENGE =
  "[19855:0x3fe3bb20]     9101 ms: Scavenge 40.2 (52.3) -> 30.1 (53.0) MB, 3.21 / 0.00 ms  (average mu = 0.993, current mu = 0.990) allocation failure;";

describe("parseTraceGcLine", () => {
  it("reads the main-thread pause, the kind and the heap left after the collection", () => {
    expect(parseTraceGcLine(MARK_COMPACT, 1_000)).toEqual({
      at: 1_000,
      kind: "mark-compact",
      ms: 72.28,
      heapAfterMiB: 88.3,
    });
    expect(parseTraceGcLine(REDUCE, 2_000)).toMatchObject({ kind: "mark-compact", ms: 18.73 });
    expect(parseTraceGcLine(SCAVENGE, 3_000)).toMatchObject({
      kind: "scavenge",
      ms: 3.21,
      heapAfterMiB: 30.1,
    });
  });

  it("reads Node 24's lines, which add the pooled pages before the pause", () => {
    expect(parseTraceGcLine(NODE_24_MARK_COMPACT, 4_000)).toEqual({
      at: 4_000,
      kind: "mark-compact",
      ms: 34.48,
      heapAfterMiB: 17.9,
    });
    expect(parseTraceGcLine(NODE_24_SCAVENGE, 5_000)).toEqual({
      at: 5_000,
      kind: "scavenge",
      ms: 5.13,
      heapAfterMiB: 4.4,
    });
  });

  it("leaves every other line alone (they still count as the service's output)", () => {
    for (const line of [
      "",
      '{"level":40,"msg":"inbox job stalled; retrying it"}',
      "Scavenge 40.2 (52.3) -> 30.1 (53.0) MB, 3.21 / 0.00 ms",
      "[19855:0x3fe3bb20] Memory allocator,       used:  12345 KB, available: 4000000 KB",
    ]) {
      expect(parseTraceGcLine(line, 0)).toBeUndefined();
    }
  });

  it("reads what this Node actually prints with --trace-gc", () => {
    const child = spawnSync(
      process.execPath,
      [
        "--trace-gc",
        "--expose-gc",
        "-e",
        "const keep = []; for (let i = 0; i < 200000; i++) keep.push({ i, s: String(i) }); globalThis.gc();",
      ],
      { encoding: "utf8" },
    );
    expect(child.status).toBe(0);
    const lines = child.stdout.split("\n").filter((line) => line.includes(" ms: "));
    expect(lines.length).toBeGreaterThan(0);
    const pauses = lines.map((line) => parseTraceGcLine(line, 0));
    expect(pauses.every((pause) => pause !== undefined)).toBe(true);
    expect(pauses.some((pause) => pause?.kind === "mark-compact")).toBe(true);
  });
});

describe("GcLog", () => {
  it("summarises each process's pauses inside a window, counting the long ones", () => {
    const log = new GcLog();
    log.record("sandbox", { at: 100, kind: "scavenge", ms: 4, heapAfterMiB: 30 });
    log.record("sandbox", { at: 200, kind: "mark-compact", ms: LONG_PAUSE_MS + 10, heapAfterMiB: 90 });
    log.record("sandbox", { at: 300, kind: "mark-compact", ms: 20, heapAfterMiB: 70 });
    log.record("sandbox", { at: 900, kind: "mark-compact", ms: 500, heapAfterMiB: 400 });
    log.record("partner-a", { at: 150, kind: "scavenge", ms: 2, heapAfterMiB: 20 });
    expect(log.window(100, 300)).toEqual({
      sandbox: {
        pauses: 3,
        totalMs: LONG_PAUSE_MS + 34,
        maxMs: LONG_PAUSE_MS + 10,
        long: 1,
        liveHeapMiB: 90,
      },
      "partner-a": { pauses: 1, totalMs: 2, maxMs: 2, long: 0, liveHeapMiB: 0 },
    });
    expect(log.window(1_000, 2_000)).toEqual({});
  });
});
