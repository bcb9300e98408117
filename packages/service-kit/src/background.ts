import type { Logger } from "./logger.js";

/**
 * Drains work in passes: runs `pass` again at once while it reports a full batch, otherwise idles
 * for `pollMs` or until `wake()` (called when new work commits, so it goes out without waiting).
 * `stop()` lets the current pass finish: graceful shutdown never abandons a claimed item.
 */
export class DrainLoop {
  #running = false;
  #wakeUp: (() => void) | undefined;
  // A wake-up that arrives while a pass runs is remembered, or its work would wait a full poll.
  #wokenDuringPass = false;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly name: string,
    /** Resolves true when it filled its batch (more work is likely waiting). */
    private readonly pass: () => Promise<boolean>,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
  }

  wake(): void {
    if (this.#wakeUp) this.#wakeUp();
    else this.#wokenDuringPass = true;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let full = false;
      this.#wokenDuringPass = false;
      try {
        full = await this.pass();
      } catch (error) {
        this.logger.error({ err: error, loop: this.name }, `${this.name} pass failed`);
      }
      if (!full && this.#running) await this.#idle();
    }
  }

  #idle(): Promise<void> {
    if (this.#wokenDuringPass) {
      this.#wokenDuringPass = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.#wakeUp = done;
    });
  }
}

/** Runs `pass` every `intervalMs`, never two at once; `stop()` waits for a running pass. */
export class PeriodicTask {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<unknown> | undefined;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#pass) return;
      this.#pass = this.pass()
        .catch((error) => this.logger.error({ err: error, task: this.name }, `${this.name} pass failed`))
        .finally(() => {
          this.#pass = undefined;
        });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pass;
  }
}
