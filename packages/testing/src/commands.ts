import { spawn } from "node:child_process";

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd: string;
  /** Set on top of the user's environment (see userEnvironment). */
  env?: Record<string, string>;
  /** The child gets `killSignal` after this long; its output so far is still returned. */
  timeoutMs: number;
  killSignal?: NodeJS.Signals;
}

/**
 * The test runner's environment as a user's shell would have it: without vitest's own variables
 * (which make a service think it is a test worker) and its colour forcing.
 */
export function userEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("VITEST") || key === "TEST" || key === "FORCE_COLOR") continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command to its exit, as a user would from the repository, and keeps all it printed. */
export function runToExit(program: string, args: string[], options: CommandOptions): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...userEnvironment(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill(options.killSignal ?? "SIGTERM"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
