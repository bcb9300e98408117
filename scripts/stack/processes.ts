import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { childEnvironment, type ServicePlan, type StackConfig } from "./config.js";
import { ServiceLogRenderer, type StackOutput } from "./logs.js";

/** The command that runs a service's entry point: its build, or its source through tsx. */
function nodeArgs(config: StackConfig, entry: "server" | "migrate"): string[] {
  return config.fromSource
    ? ["--conditions=source", "--import", "tsx", `src/${entry}.ts`]
    : [`dist/${entry}.js`];
}

/** Fails when something already listens on the port: another stack, or a service started by hand. */
export function assertPortFree(port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `port ${port} (${name}) is already in use: stop what listens there (another stack?) or choose other ports with STACK_PORTS=a,b,sandbox,console`
            : `cannot check port ${port} (${name}): ${error.message}`,
        ),
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

/**
 * The stack's child processes. Each runs in its own process group, so a terminal's Ctrl-C reaches
 * only the stack, which then stops each service once, in reverse order of start.
 */
export class StackProcesses {
  readonly #children: Array<{ plan: ServicePlan; child: ChildProcess }> = [];
  #stopping = false;
  #onUnexpectedExit: (plan: ServicePlan, code: number | null, signal: string | null) => void = () => {};

  constructor(
    private readonly config: StackConfig,
    private readonly output: StackOutput,
    private readonly environment: Record<string, string | undefined> = process.env,
  ) {}

  onUnexpectedExit(callback: (plan: ServicePlan, code: number | null, signal: string | null) => void): void {
    this.#onUnexpectedExit = callback;
  }

  #spawn(plan: ServicePlan, entry: "server" | "migrate"): ChildProcess {
    const child = spawn(process.execPath, nodeArgs(this.config, entry), {
      cwd: plan.dir,
      env: childEnvironment(this.config.root, plan, this.environment),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const renderer = new ServiceLogRenderer(this.output.options);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        const rendered = renderer.render(line);
        if (rendered !== undefined) this.output.print(plan.name, rendered);
      });
    }
    return child;
  }

  /** Creates the partner's database if needed and applies its migrations. */
  migrate(plan: ServicePlan): Promise<void> {
    const child = this.#spawn(plan, "migrate");
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => {
        if (code === 0) return resolve();
        const database = new URL(plan.env.DATABASE_URL ?? "postgres://?").host;
        reject(
          new Error(`${plan.name}'s migrations failed (exit ${code}): is PostgreSQL running on ${database}?`),
        );
      });
    });
  }

  start(plan: ServicePlan): void {
    const child = this.#spawn(plan, "server");
    this.#children.push({ plan, child });
    child.once("exit", (code, signal) => {
      if (!this.#stopping) this.#onUnexpectedExit(plan, code, signal);
    });
  }

  /** Polls /readyz until it answers 200; fails early if the process ends. */
  async waitReady(plan: ServicePlan, timeoutMs = 60_000): Promise<void> {
    const entry = this.#children.find((candidate) => candidate.plan === plan);
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (entry && (entry.child.exitCode !== null || entry.child.signalCode !== null)) {
        throw new Error(`${plan.name} exited before it was ready`);
      }
      try {
        const response = await fetch(`${plan.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${plan.name} was not ready at ${plan.url}/readyz after ${timeoutMs / 1000} s (${last})`);
  }

  /** SIGTERM to each service, newest first (the console before the partners before the sandbox). */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    this.#stopping = true;
    for (const { child } of [...this.#children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
  }
}
