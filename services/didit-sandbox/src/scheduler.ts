import type { SandboxClock } from "./clock.js";

interface ScheduledTask {
  dueMs: number;
  run: () => void;
}

// A long real timer is re-armed in steps, so a clock jump or a 7-day lifetime never overflows setTimeout.
const MAX_REAL_WAIT_MS = 60_000;

/**
 * Runs tasks when the sandbox clock reaches their due time: by real waiting, or at once when the clock
 * is advanced past them. One real timer serves every task.
 */
export class ClockScheduler {
  readonly #clock: SandboxClock;
  readonly #onError: (error: unknown) => void;
  #tasks: ScheduledTask[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** When the armed timer means to run tasks; a later task needs no re-arming. */
  #armedForMs: number | undefined;

  constructor(clock: SandboxClock, onError: (error: unknown) => void) {
    this.#clock = clock;
    this.#onError = onError;
    clock.onChange(() => this.#arm());
  }

  /** Runs `run` once the sandbox clock reads `dueMs` or later. */
  at(dueMs: number, run: () => void): void {
    if (this.#stopped) return;
    this.#tasks.push({ dueMs, run });
    // Every session schedules its expiry days ahead: re-arming for each would cost O(sessions).
    if (this.#timer !== undefined && this.#armedForMs !== undefined && dueMs >= this.#armedForMs) return;
    this.#arm();
  }

  get pending(): number {
    return this.#tasks.length;
  }

  clear(): void {
    this.#tasks = [];
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.clear();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedForMs = undefined;
    if (this.#stopped || this.#tasks.length === 0) return;
    // A loop, not Math.min(...tasks): spreading 125,000+ arguments throws RangeError.
    let next = Number.POSITIVE_INFINITY;
    for (const task of this.#tasks) if (task.dueMs < next) next = task.dueMs;
    this.#armedForMs = next;
    const wait = Math.min(Math.max(next - this.#clock.now(), 0), MAX_REAL_WAIT_MS);
    this.#timer = setTimeout(() => this.#runDue(), wait);
    this.#timer.unref();
  }

  #runDue(): void {
    const now = this.#clock.now();
    const due = this.#tasks.filter((task) => task.dueMs <= now).sort((a, b) => a.dueMs - b.dueMs);
    this.#tasks = this.#tasks.filter((task) => task.dueMs > now);
    for (const task of due) {
      try {
        task.run();
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#arm();
  }
}
