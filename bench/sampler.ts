import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ); 100 on every Linux this runs on. */
const CLK_TCK = 100;
const PAGE_KIB = 4;

interface ProcReading {
  ticks: number;
  rssKiB: number;
}

/** utime + stime and the resident set of one process, or undefined once it is gone. */
function readProc(pid: number): ProcReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { ticks, rssKiB: rssPages * PAGE_KIB };
  } catch {
    return undefined;
  }
}

/** Processes whose command name starts with `prefix` (all of Postgres' backends, say). */
function pidsNamed(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").startsWith(prefix)) pids.push(Number(entry));
    } catch {
      // gone in between
    }
  }
  return pids;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface Sample {
  /** Epoch milliseconds. */
  t: number;
  /** Per tracked process: resident set (MiB) and CPU over the last interval (% of one core). */
  procs: Record<string, { rssMiB: number; cpuPct: number }>;
  /** Whole machine, all cores: % busy over the last interval (100 = every core busy). */
  machinePct: number;
}

interface Tracked {
  pids: () => number[];
  /** The previous sample: its time and each process's CPU ticks then. */
  last?: { t: number; ticks: Map<number, number> };
}

export interface ResourceStats {
  peakRssMiB: number;
  endRssMiB: number;
  meanCpuPct: number;
  peakCpuPct: number;
}

/**
 * Samples RSS and CPU of the services (and of Postgres, Redis and the benchmark itself) every
 * `intervalMs` from /proc, so phases can be summarised afterwards from the samples in their window.
 */
export class ResourceSampler {
  readonly samples: Sample[] = [];
  readonly #tracked = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;
  #lastMachine = machineTicks();

  constructor(private readonly intervalMs = 250) {}

  /** Tracks a process by name; `pid` may change (a restarted service) and is read at each sample. */
  track(name: string, pids: () => number[]): void {
    this.#tracked.set(name, { pids });
  }

  trackPid(name: string, pid: () => number | undefined): void {
    this.track(name, () => {
      const current = pid();
      return current === undefined ? [] : [current];
    });
  }

  trackCommand(name: string, commandPrefix: string): void {
    let cached: number[] = [];
    let at = 0;
    this.track(name, () => {
      // Re-list every 2 s: Postgres starts a backend per new connection.
      if (Date.now() - at > 2_000) {
        cached = pidsNamed(commandPrefix);
        at = Date.now();
      }
      return cached;
    });
  }

  start(): void {
    this.#timer = setInterval(() => this.#sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    const t = Date.now();
    const procs: Sample["procs"] = {};
    for (const [name, tracked] of this.#tracked) {
      const pids = tracked.pids();
      const ticks = new Map<number, number>();
      let rssKiB = 0;
      for (const pid of pids) {
        const reading = readProc(pid);
        if (!reading) continue;
        ticks.set(pid, reading.ticks);
        rssKiB += reading.rssKiB;
      }
      if (ticks.size === 0) {
        tracked.last = undefined;
        continue;
      }
      // CPU of the processes seen in both samples; one that just appeared counts from the next one.
      const last = tracked.last;
      let used = 0;
      for (const [pid, now] of ticks) {
        const before = last?.ticks.get(pid);
        if (before !== undefined) used += Math.max(0, now - before);
      }
      const cpuPct = last && t > last.t ? (used / CLK_TCK / ((t - last.t) / 1000)) * 100 : 0;
      tracked.last = { t, ticks };
      procs[name] = { rssMiB: rssKiB / 1024, cpuPct };
    }
    const machine = machineTicks();
    const dTotal = machine.total - this.#lastMachine.total;
    const machinePct = dTotal > 0 ? ((machine.busy - this.#lastMachine.busy) / dTotal) * 100 : 0;
    this.#lastMachine = machine;
    this.samples.push({ t, procs, machinePct });
  }

  /** Peak and last RSS, mean and peak (1 s window) CPU of each tracked process between two instants. */
  window(from: number, to: number): { procs: Record<string, ResourceStats>; machineMeanPct: number } {
    const inside = this.samples.filter((sample) => sample.t >= from && sample.t <= to);
    const names = new Set(inside.flatMap((sample) => Object.keys(sample.procs)));
    const perSecond = Math.max(1, Math.round(1000 / this.intervalMs));
    const procs: Record<string, ResourceStats> = {};
    for (const name of names) {
      const series = inside.flatMap((sample) => {
        const reading = sample.procs[name];
        return reading ? [reading] : [];
      });
      const cpu = series.map((reading) => reading.cpuPct);
      let peakCpu = 0;
      for (let index = 0; index + perSecond <= cpu.length; index += 1) {
        const slice = cpu.slice(index, index + perSecond);
        peakCpu = Math.max(peakCpu, slice.reduce((sum, value) => sum + value, 0) / slice.length);
      }
      procs[name] = {
        peakRssMiB: Math.max(0, ...series.map((reading) => reading.rssMiB)),
        endRssMiB: series.at(-1)?.rssMiB ?? 0,
        meanCpuPct: cpu.length ? cpu.reduce((sum, value) => sum + value, 0) / cpu.length : 0,
        peakCpuPct: peakCpu || Math.max(0, ...cpu),
      };
    }
    const machine = inside.map((sample) => sample.machinePct);
    return {
      procs,
      machineMeanPct: machine.length ? machine.reduce((sum, value) => sum + value, 0) / machine.length : 0,
    };
  }
}
