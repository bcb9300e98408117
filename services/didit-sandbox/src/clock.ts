/**
 * The sandbox's notion of now: real time plus an offset that tests move forward through the control
 * API, so token expiry, session lifetimes and webhook retries can be reached without waiting.
 */
export class SandboxClock {
  readonly #realNow: () => number;
  readonly #listeners = new Set<() => void>();
  #offsetMs = 0;

  constructor(realNow: () => number = Date.now) {
    this.#realNow = realNow;
  }

  /** Milliseconds since the epoch, sandbox time. */
  now(): number {
    return this.#realNow() + this.#offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  isoNow(): string {
    return isoSeconds(this.now());
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  advance(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) {
      throw new RangeError("the sandbox clock only moves forward");
    }
    this.#offsetMs += milliseconds;
    this.#notify();
  }

  /** Back to real time (offset 0): `POST /sandbox/reset` and `DELETE /sandbox/clock`, for test harnesses. */
  reset(): void {
    this.#offsetMs = 0;
    this.#notify();
  }

  /** Called after every jump, so schedulers can run what became due. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/**
 * ISO 8601 UTC with whole seconds and `Z`, as Didit writes `created_at`
 * (docs/DIDIT.md#what-the-sandbox-assumes).
 */
export function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
