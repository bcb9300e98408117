import { spawn } from "node:child_process";
import { sleep } from "./scenario.js";

/**
 * How the harness stops and starts partner-b. It cannot control the processes of an arbitrary
 * deployment, so the caller supplies both: functions (tests stop and start a child process) or,
 * from the command line, shell commands (`docker compose stop partner-b`, `systemctl …`).
 */
export interface PartnerBControls {
  stopPartnerB?: () => Promise<unknown>;
  startPartnerB?: () => Promise<unknown>;
}

export function hasPartnerBControl(controls: PartnerBControls): boolean {
  return typeof controls.stopPartnerB === "function" && typeof controls.startPartnerB === "function";
}

/** Runs a shell command; its output goes to our stderr so stdout stays the report's. Rejects on failure. */
export function runShellCommand(command: string, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ["ignore", process.stderr, process.stderr] });
    child.once("error", (error) => reject(new Error(`${label} could not run: ${error.message}`)));
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${label} exited with ${code ?? signal}`));
    });
  });
}

export function shellControls(commands: { stop?: string; start?: string }): PartnerBControls {
  return {
    ...(commands.stop
      ? { stopPartnerB: () => runShellCommand(commands.stop as string, "--stop-partner-b-cmd") }
      : {}),
    ...(commands.start
      ? { startPartnerB: () => runShellCommand(commands.start as string, "--start-partner-b-cmd") }
      : {}),
  };
}

async function answers(url: string, path: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/**
 * The controls as scenarios use them: a stop is confirmed by partner-b no longer answering, a start
 * by its /readyz answering 200, so a command that "succeeded" without effect is caught here.
 */
export class PartnerBSwitch {
  #stopped = false;

  constructor(
    private readonly controls: PartnerBControls,
    private readonly partnerBUrl: string,
    private readonly timeoutMs = 60_000,
  ) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  async stop(): Promise<void> {
    if (!this.controls.stopPartnerB) throw new Error("no control to stop partner-b");
    await this.controls.stopPartnerB();
    this.#stopped = true;
    await this.#waitUntil(
      async () => (await answers(this.partnerBUrl, "/healthz")) === undefined,
      "stop answering",
    );
  }

  async start(): Promise<void> {
    if (!this.controls.startPartnerB) throw new Error("no control to start partner-b");
    await this.controls.startPartnerB();
    await this.#waitUntil(
      async () => (await answers(this.partnerBUrl, "/readyz")) === 200,
      "be ready (/readyz 200)",
    );
    this.#stopped = false;
  }

  /** For cleanups: starts partner-b again if a scenario left it stopped. */
  async ensureStarted(): Promise<void> {
    if (this.#stopped) await this.start();
  }

  async #waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) {
        throw new Error(`partner-b did not ${what} at ${this.partnerBUrl} within ${this.timeoutMs / 1000} s`);
      }
      await sleep(200);
    }
  }
}
