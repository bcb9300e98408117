import type { BareRun } from "./bare/baseline.js";
import type { GcSummary } from "./gc-pauses.js";
import type { MachineInfo } from "./machine.js";
import type { BenchOptions } from "./options.js";
import type { Correctness } from "./outcomes.js";
import type { BacklogRun, PostgresCounters, ProductRun } from "./phases.js";
import type { ProfileSummary } from "./profile.js";
import type { ResourceStats, Sample } from "./sampler.js";

export interface PhaseResources {
  procs: Record<string, ResourceStats>;
  /** All cores, % busy: what else ran on the machine shows as the gap to the tracked processes. */
  machineMeanPct: number;
  /** Length of the window the figures cover. */
  seconds: number;
  /** Resident set a few seconds after the phase, when its work is done. */
  rssAfterMiB?: Record<string, number>;
}

export interface WithResources<T> {
  result: T;
  resources: PhaseResources;
}

export interface Targets {
  throughputRatio: { value: number; target: number; met: boolean };
  p99AcceptToImportMs: { value: number; target: number; met: boolean };
  peakRssMiB: { value: number; service: string; target: number; met: boolean };
  rssGrowth: { runs: number[]; service: string; growthPct: number; met: boolean };
  backlogDrained: { value: boolean; met: boolean };
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  options: Omit<BenchOptions, "phases"> & { phases: string[] };
  machine: MachineInfo;
  settings: Record<string, string>;
  userCreation: { label: string; users: number; seconds: number; perSecond: number }[];
  bare: WithResources<BareRun>[];
  max: WithResources<ProductRun>[];
  /** Postgres work per share over the max-throughput runs (pg_stat_database of each partner's database). */
  postgresPerShare?: { "partner-a": PostgresCounters; "partner-b": PostgresCounters };
  half?: WithResources<ProductRun & { maxLatenessMs: number }>;
  /** The bare baseline offered at the half-load rate for as long: the latency floor of the same I/O here. */
  halfBare?: BareRun & { maxLatenessMs: number };
  backlog?: WithResources<BacklogRun>;
  /** Didit's side: each shared source session imported into partner-b's application exactly once. */
  diditCheck?: Correctness;
  targets: Partial<Targets>;
  ratio?: number;
  warnings: Record<string, number>;
  profiles?: ProfileSummary[];
  /** With --trace-gc: each measured process's garbage-collection pauses, per phase. */
  gcPauses?: { phase: string; processes: Record<string, GcSummary> }[];
  /** RSS/CPU samples every 250 ms for the report's resource chart (thinned to 1 s). */
  samples: Sample[];
  phaseMarks: { label: string; from: number; to: number }[];
  ok: boolean;
  failures: string[];
}
